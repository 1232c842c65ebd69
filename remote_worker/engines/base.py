"""The engine interface every TTS backend implements, and the registry that names them.

The worker only ever talks to :class:`Engine`; adding a backend means one new
module and one :func:`register_engine` call, nothing in the HTTP layer.
"""

from __future__ import annotations

import abc
import threading
from typing import Callable, Optional

import numpy as np

from ..protocol import TTSConfig

__all__ = [
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "EngineFactory",
    "register_engine",
    "engine_names",
    "get_engine",
]


class EngineError(Exception):
    """An engine failed to load or to speak. ``str(err)`` is a one-line message."""


class EngineUnavailable(EngineError):
    """The engine is known but cannot run here (missing extra, missing voice)."""


class Engine(abc.ABC):
    """One loaded TTS model. Not re-entrant: callers serialise :meth:`synthesize`."""

    #: registry name, e.g. ``"piper"``
    name: str = ""
    #: longest sentence (characters) the model speaks without cutting it off
    max_chars: int = 4000
    #: whether ``tts_config.speaker_wav`` / ``speaker`` mean anything to it; when not, the worker leaves
    #: them out of its schema and ignores them like any unknown key
    clones_voices: bool = False

    def __init__(self) -> None:
        self._load_lock = threading.Lock()
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Load the model once; later calls return at once (the app and the CLI both call it)."""
        with self._load_lock:
            if self._loaded:
                return
            self._load()
            self._loaded = True

    @abc.abstractmethod
    def _load(self) -> None:
        """Do the actual loading; raise :class:`EngineError` with a one-line message."""

    @abc.abstractmethod
    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        """Speak one sentence: float32 mono samples in [-1, 1] at :attr:`sample_rate`.

        May return an empty array for text with nothing to pronounce.
        """

    @property
    @abc.abstractmethod
    def sample_rate(self) -> int:
        """Output sample rate in Hz (known once loaded)."""

    @property
    @abc.abstractmethod
    def voice(self) -> str:
        """Short voice name shown in status and responses."""

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"cuda"``: where inference actually runs, not where it was asked to."""
        return "cpu"

    @property
    def provider(self) -> str:
        """The backend's own name for the active device (e.g. an onnxruntime provider)."""
        return ""

    @property
    def threads(self) -> int:
        """CPU threads the engine is pinned to (0 when the backend decides)."""
        return 0

    @property
    def model(self) -> str:
        """Which model is loaded (a folder or a model name), for ``/health`` and ``/status``."""
        return self.voice

    @property
    def memory_mb(self) -> Optional[float]:
        """GPU memory this loaded copy holds; None on CPU or when the backend cannot tell."""
        return None

    @property
    def languages(self) -> list[str]:
        """Languages the model speaks; empty when it does not say (then any is accepted)."""
        return []

    @property
    def speakers(self) -> list[str]:
        """Built-in speaker names, if the model has any."""
        return []

    @property
    def speaker_id_count(self) -> int:
        """How many ``tts_config.speaker_id`` values the loaded model takes (0..n-1); 0: it ignores them."""
        return 0

    def piece_limit(self, config: TTSConfig) -> int:
        """Longest text one :meth:`synthesize` call takes whole for ``config`` (the worker splits longer)."""
        return self.max_chars

    def check_config(self, config: TTSConfig) -> Optional[str]:
        """Why ``config`` cannot be spoken by this engine (one line, answered 422), or None."""
        return None


EngineFactory = Callable[..., Engine]

_REGISTRY: dict[str, EngineFactory] = {}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make ``name`` selectable by :func:`get_engine` and ``--engine``."""
    _REGISTRY[name] = factory


def engine_names() -> list[str]:
    return sorted(_REGISTRY)


def get_engine(
    name: str,
    *,
    voice: Optional[str] = None,
    threads: Optional[int] = None,
    use_cuda: Optional[bool] = None,
    **options: object,
) -> Engine:
    """Build (not load) the engine called ``name``.

    ``voice`` is engine specific (a Piper ``.onnx`` path); ``threads`` pins CPU
    threads; ``use_cuda`` None means "use the GPU when the backend can".
    ``options`` whose value is not None go to the engine (e.g. ``model_dir``);
    an engine that does not take one refuses it in one line.
    """
    key = (name or "").strip().lower()
    factory = _REGISTRY.get(key)
    if factory is None:
        raise EngineError(f"unknown engine {name!r}; choose one of: {', '.join(engine_names())}")
    if threads is not None and threads < 1:
        raise EngineError(f"threads must be at least 1, got {threads}")
    extra = {k: v for k, v in options.items() if v is not None and v is not False}
    try:
        return factory(voice=voice, threads=threads, use_cuda=use_cuda, **extra)
    except TypeError as exc:
        if extra and "unexpected keyword" in str(exc):
            flags = ", ".join("--" + k.replace("_", "-") for k in sorted(extra))
            raise EngineError(f"engine {key} does not take {flags}") from None
        raise
