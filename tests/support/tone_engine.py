"""A fast engine for tests that exercise the HTTP layer, not speech.

It goes in through ``create_app(engine=...)``, a seam the project owns; it is
never registered, so ``--engine`` cannot pick it. The Piper path itself is
covered by test_worker_api.py and test_worker_engine.py.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from remote_worker.engines.base import Engine
from remote_worker.protocol import TTSConfig

__all__ = ["ToneEngine"]


class ToneEngine(Engine):
    """One short sine tone per sentence, longer for longer sentences; silence for blank text."""

    name = "tone"

    def __init__(self, sample_rate: int = 8000, speed: Optional[float] = None) -> None:
        """``speed``: audio seconds made per wall second (it sleeps to keep that pace, as a slow
        model would); None: as fast as it can."""
        super().__init__()
        self._rate = sample_rate
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed

    def _load(self) -> None:
        return None

    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        words = len(sentence.split())
        if not words:
            return np.zeros(0, dtype=np.float32)
        n = int(self._rate * min(0.05 * words, 0.5))
        if self._speed is not None:
            time.sleep(n / self._rate / self._speed)
        t = np.arange(n, dtype=np.float32) / self._rate
        return (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def voice(self) -> str:
        return "sine-440"
