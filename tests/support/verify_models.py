"""Real Piper and real Whisper ``tiny.en``, each loaded once per process for the verification tests.

Both run on one thread, offline. Piper speaks without sampling noise, so every run
hears the same audio, and its takes are cached by text and pace, since the tests
speak the same sentences clean, damaged and again. Callers skip when the
recogniser cannot load here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np

from remote_worker.engines.base import Engine
from remote_worker.engines.piper import PiperEngine
from remote_worker.protocol import TTSConfig
from remote_worker.verify import SpeechRecognizer, asr_availability, resolve_model

__all__ = ["CachedEngine", "SteadyPiper", "piper", "recognizer", "unavailable"]


def unavailable() -> Optional[str]:
    """Why the real models cannot run here, or None."""
    found = asr_availability()
    if not found:
        return found.reason
    if not resolve_model().offline:
        return f"no offline whisper model ({found.reason})"
    return None


class CachedEngine(Engine):
    """Delegates to a loaded engine and remembers each (text, length scale) it spoke."""

    name = "cached"

    def __init__(self, inner: Engine) -> None:
        super().__init__()
        self.inner = inner
        self._cache: dict[tuple[str, float, Optional[int]], np.ndarray] = {}

    def _load(self) -> None:
        self.inner.load()

    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        key = (sentence, float(config.length_scale or 1.0), config.speaker_id)
        if key not in self._cache:
            audio = np.asarray(self.inner.synthesize(sentence, config), dtype=np.float32)
            audio.setflags(write=False)
            self._cache[key] = audio
        return self._cache[key]

    @property
    def sample_rate(self) -> int:
        return self.inner.sample_rate

    @property
    def voice(self) -> str:
        return self.inner.voice


class SteadyPiper(PiperEngine):
    """Piper without its sampling noise: the same text and pace give the same audio in every run.

    Piper draws fresh noise on every call, so a real take now and then comes out a little
    unclear and the recogniser a little unsure; tests that must pass every time speak steadily.
    """

    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        from piper.config import SynthesisConfig

        if self._voice is None:
            raise RuntimeError("SteadyPiper is not loaded")
        steady = SynthesisConfig(length_scale=config.length_scale, speaker_id=config.speaker_id,
                                 noise_scale=0.0, noise_w_scale=0.0)
        chunks = [c.audio_float_array for c in self._voice.synthesize(sentence, syn_config=steady)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32).reshape(-1)


@lru_cache(maxsize=1)
def piper() -> CachedEngine:
    """Steady Piper on one thread, its takes cached."""
    engine = CachedEngine(SteadyPiper(threads=1))
    engine.load()
    return engine


@lru_cache(maxsize=1)
def recognizer() -> SpeechRecognizer:
    heard = SpeechRecognizer(threads=1)
    heard.load()
    return heard
