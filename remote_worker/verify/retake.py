"""Speak again only what was not heard, check it again, and keep the best take of each sentence.

Engine-agnostic: the caller's ``speak(index, take_index)`` decides what a new
take means (Piper: other noise or length scales; XTTS: another seed or sampling).
Retakes of a round are heard together in small batches, so a round costs one
recognition call per batch, not one per sentence. What still fails after
``max_takes`` is returned flagged, with its best take, for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from .verdict import Verdict

__all__ = ["DEFAULT_MAX_TAKES", "SpeakTake", "TakeResult", "VerifyTakes", "better_take", "retake_flagged"]

DEFAULT_MAX_TAKES = 3

#: (sentence index, take index) → float32 mono audio of that take; take 0 is the first
SpeakTake = Callable[[int, int], np.ndarray]
#: (sentence indices, their audio) → one verdict per sentence, in the same order
VerifyTakes = Callable[[Sequence[int], Sequence[np.ndarray]], Sequence[Verdict]]


@dataclass(frozen=True)
class TakeResult:
    """The take kept for one sentence, its verdict, and how many takes were spoken in all."""

    audio: np.ndarray
    verdict: Verdict
    takes: int
    kept_take: int

    @property
    def passed(self) -> bool:
        return self.verdict.passed


def _rank(verdict: Verdict) -> tuple[bool, float, int, bool, int]:
    return (verdict.passed, verdict.score, -verdict.missing_run, not verdict.repeated, -verdict.inserted)


def better_take(new: Verdict, old: Verdict) -> bool:
    """True when ``new`` should replace ``old``: passed beats flagged, then score, then fewer problems."""
    if old.status == "unverified" and new.status != "unverified":
        return True
    if new.status == "unverified":
        return False
    return _rank(new) > _rank(old)


def _batches(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def retake_flagged(
    count: int,
    speak: SpeakTake,
    verify: VerifyTakes,
    *,
    max_takes: int = DEFAULT_MAX_TAKES,
    first: Optional[tuple[Sequence[np.ndarray], Sequence[Verdict]]] = None,
    batch_size: int = 8,
) -> list[TakeResult]:
    """The best take of each of ``count`` sentences after at most ``max_takes`` takes each.

    ``first`` is the first take's audio and verdicts when the caller already has
    them (a unit spoken and heard whole); otherwise take 0 of every sentence is
    spoken and heard here. Only flagged sentences are spoken again; unverified
    ones are kept as they are, since no take of them could be checked.
    """
    if max_takes < 1:
        raise ValueError(f"max_takes must be at least 1, got {max_takes}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if first is None:
        audio = [np.asarray(speak(i, 0), dtype=np.float32).reshape(-1) for i in range(count)]
        verdicts: list[Verdict] = []
        for batch in _batches(list(range(count)), batch_size):
            verdicts.extend(verify(batch, [audio[i] for i in batch]))
    else:
        audio, verdicts = [np.asarray(a, dtype=np.float32) for a in first[0]], list(first[1])
    if len(audio) != count or len(verdicts) != count:
        raise ValueError(f"{count} sentences but {len(audio)} takes and {len(verdicts)} verdicts")

    kept_take = [0] * count
    takes = [1] * count
    pending = [i for i in range(count) if verdicts[i].flagged]
    for take in range(1, max_takes):
        if not pending:
            break
        fresh = {i: np.asarray(speak(i, take), dtype=np.float32).reshape(-1) for i in pending}
        for i in pending:
            takes[i] = take + 1
        for batch in _batches(pending, batch_size):
            for i, verdict in zip(batch, verify(batch, [fresh[i] for i in batch])):
                if better_take(verdict, verdicts[i]):
                    audio[i], verdicts[i], kept_take[i] = fresh[i], verdict, take
        pending = [i for i in pending if verdicts[i].flagged]
    return [TakeResult(audio[i], verdicts[i], takes[i], kept_take[i]) for i in range(count)]
