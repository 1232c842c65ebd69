"""Registry slot for Coqui XTTS-v2, the GPU engine.

XTTS speaks at most ~250 characters per call, which the worker enforces through
``max_chars``. Until its engine lands, selecting it says what is missing
instead of failing somewhere deep in an import.
"""

from __future__ import annotations

import importlib.util
from typing import Optional

from .base import Engine, EngineUnavailable, register_engine

__all__ = ["XTTS_MAX_CHARS", "make_xtts_engine"]

XTTS_MAX_CHARS = 250


def make_xtts_engine(
    voice: Optional[str] = None,
    threads: Optional[int] = None,
    use_cuda: Optional[bool] = None,
) -> Engine:
    """Fail with a one-line reason: the extra is missing, or the engine is not in this release."""
    if importlib.util.find_spec("TTS") is None:
        raise EngineUnavailable("engine xtts needs the [xtts] extra (pip install 'e2a-tui[xtts]')")
    raise EngineUnavailable("engine xtts is not available in this release; use --engine piper")


register_engine("xtts", make_xtts_engine)
