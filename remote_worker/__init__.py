"""The e2a TTS worker: a FastAPI service that turns sentences into audio.

This package never imports from ``tui``; the orchestrator imports
:mod:`remote_worker.protocol` for the wire models.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
