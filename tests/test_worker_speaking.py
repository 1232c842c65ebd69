"""Splitting and the per-take sanity check, through the engine interface (no model needed)."""

from __future__ import annotations

import numpy as np

from remote_worker.engines.base import Engine
from remote_worker.protocol import TTSConfig
from remote_worker.sanity import judge_take
from remote_worker.speaking import PIECE_GAP_MS, speak_sentence

RATE = 16000
TEXT = "The lantern swung in the wind as the ferry came slowly into the harbour."


class ScriptedEngine(Engine):
    """Speaks 60 ms of tone per character; the first ``silent_takes`` calls return silence instead."""

    name = "scripted"
    max_chars = 30

    def __init__(self, silent_takes: int = 0) -> None:
        super().__init__()
        self.silent_takes = silent_takes
        self.calls: list[str] = []

    def _load(self) -> None:
        pass

    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        self.calls.append(sentence)
        n = int(0.06 * RATE * len(sentence))
        if len(self.calls) <= self.silent_takes:
            return np.zeros(n, dtype=np.float32)
        return (0.3 * np.sin(np.arange(n) * 0.05)).astype(np.float32)

    @property
    def sample_rate(self) -> int:
        return RATE

    @property
    def voice(self) -> str:
        return "tone"


def test_judge_flags_silence_and_lengths_far_from_speech():
    tone = (0.3 * np.sin(np.arange(RATE * 4) * 0.05)).astype(np.float32)
    assert judge_take(tone, RATE, TEXT) is None  # 4 s for ~60 letters: speech-like
    assert "near-silence" in judge_take(np.zeros(RATE * 4, dtype=np.float32), RATE, TEXT)
    assert "too short" in judge_take(tone[: RATE // 4], RATE, TEXT)
    assert "too long" in judge_take(np.tile(tone, 8), RATE, TEXT)
    assert judge_take(np.tile(tone, 8), RATE, TEXT, length_scale=5.0) is None  # slow speech asked for
    assert judge_take(tone[:100], RATE, "Yes.") is None  # too short a text to judge


def test_long_text_is_spoken_in_pieces_within_the_limit():
    engine = ScriptedEngine()
    said = speak_sentence(engine, TEXT, TTSConfig())
    assert said.pieces == len(engine.calls) >= 3 and not said.resynthesised
    assert all(len(c) <= 30 for c in engine.calls) and " ".join(engine.calls).split() == TEXT.split()
    gap = int(RATE * PIECE_GAP_MS / 1000)
    expected = sum(int(0.06 * RATE * len(c)) for c in engine.calls) + gap * (said.pieces - 1)
    assert said.samples.size == expected


def test_a_silent_take_is_spoken_again_once_and_reported():
    engine = ScriptedEngine(silent_takes=1)
    said = speak_sentence(engine, "A quiet evening in town.", TTSConfig())
    assert said.resynthesised and said.warning is None and np.abs(said.samples).max() > 0.1
    always = ScriptedEngine(silent_takes=100)
    bad = speak_sentence(always, "A quiet evening in town.", TTSConfig())
    assert bad.resynthesised and "near-silence" in bad.warning
    assert len(always.calls) == 2 * bad.pieces  # once more, not forever
