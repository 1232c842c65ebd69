"""TTS engines behind one interface; importing this package registers them all."""

from __future__ import annotations

from . import piper as _piper  # noqa: F401  (registers "piper")
from . import xtts as _xtts  # noqa: F401  (registers "xtts")
from .base import (
    Engine,
    EngineError,
    EngineFactory,
    EngineUnavailable,
    engine_names,
    get_engine,
    register_engine,
)
from .piper import PiperEngine

__all__ = [
    "DEFAULT_ENGINE",
    "Engine",
    "EngineError",
    "EngineFactory",
    "EngineUnavailable",
    "PiperEngine",
    "engine_names",
    "get_engine",
    "register_engine",
]

DEFAULT_ENGINE = "piper"
