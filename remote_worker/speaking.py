"""Speak one sentence on one engine: split it to the engine's limit, check the take, retry once.

The engine never sees more text than it can speak whole (XTTS cuts longer text
off without a word), and a take that fails :func:`judge_take` is spoken once
more; what happened is reported with the sentence rather than hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .engines.base import Engine
from .protocol import TTSConfig
from .sanity import judge_take
from .textsplit import split_for_engine

__all__ = ["PIECE_GAP_MS", "SpokenSentence", "speak_sentence"]

#: pause put between the pieces of a split sentence (a clause break, shorter than a sentence gap)
PIECE_GAP_MS = 120


@dataclass(frozen=True)
class SpokenSentence:
    samples: np.ndarray
    pieces: int = 1
    resynthesised: bool = False
    warning: Optional[str] = None


def _take(engine: Engine, pieces: list[str], config: TTSConfig) -> np.ndarray:
    gap = np.zeros(int(engine.sample_rate * PIECE_GAP_MS / 1000), dtype=np.float32)
    parts: list[np.ndarray] = []
    for index, piece in enumerate(pieces):
        if index:
            parts.append(gap)
        parts.append(np.asarray(engine.synthesize(piece, config), dtype=np.float32).reshape(-1))
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def speak_sentence(engine: Engine, text: str, config: TTSConfig, check: bool = True) -> SpokenSentence:
    """The audio of ``text`` (already stripped, not blank) and how it was obtained."""
    pieces = split_for_engine(text, max(1, engine.piece_limit(config)))
    samples = _take(engine, pieces, config)
    if not check:
        return SpokenSentence(samples, len(pieces))
    problem = judge_take(samples, engine.sample_rate, text, config.length_scale)
    if problem is None:
        return SpokenSentence(samples, len(pieces))
    again = _take(engine, pieces, config)
    second = judge_take(again, engine.sample_rate, text, config.length_scale)
    if second is None:
        return SpokenSentence(again, len(pieces), True, None)
    # both failed: keep the take with more sound in it, and say so
    keep = again if again.size > samples.size else samples
    return SpokenSentence(keep, len(pieces), True, second if keep is again else problem)
