"""e2a-tui: the orchestrator that runs on the user's machine.

Everything outside ``tui.app`` (the Textual front end) is the core and never
imports textual.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
