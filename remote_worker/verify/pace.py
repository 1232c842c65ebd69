"""Speech far longer than its words need: something was said that the recogniser did not write down.

Whisper's language model dislikes repetition and now and then writes a clause
said twice only once. The audio still tells: an engine speaks at a steady pace,
so a sentence whose audio lasts much longer per character than the rest of its
unit holds speech that is not in the text. On clean Piper units no sentence of
30 characters or more lasted more than 1.3 times the unit's pace.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Optional, Sequence

from .verdict import DEFAULT_THRESHOLDS, Thresholds, Verdict

__all__ = ["flag_overlong", "spoken_chars", "unit_pace"]

#: sentences needed to measure a unit's own pace
_MIN_SENTENCES = 3


def spoken_chars(words: Sequence[str]) -> int:
    """Letters plus word breaks of normalised words: what the speaking time grows with."""
    return sum(len(w) for w in words) + max(0, len(words) - 1)


def unit_pace(chars: Sequence[int], timings: Sequence[tuple[float, float]], verdicts: Sequence[Verdict],
              limits: Thresholds = DEFAULT_THRESHOLDS) -> Optional[float]:
    """Median seconds per character over the unit's passed sentences long enough to judge; None if too few."""
    rates = [(end - start) / n for n, (start, end), v in zip(chars, timings, verdicts)
             if v.passed and n >= limits.length_min_chars and end > start]
    if len(rates) < _MIN_SENTENCES:
        return None
    return statistics.median(rates)


def flag_overlong(verdicts: Sequence[Verdict], chars: Sequence[int], timings: Sequence[tuple[float, float]],
                  pace: Optional[float], limits: Thresholds = DEFAULT_THRESHOLDS) -> list[Verdict]:
    """``verdicts`` with each passed sentence that lasts over ``limits.max_length_ratio`` times ``pace`` flagged."""
    if pace is None or pace <= 0:
        return list(verdicts)
    out = []
    for verdict, n, (start, end) in zip(verdicts, chars, timings):
        if verdict.passed and n >= limits.length_min_chars:
            ratio = (end - start) / (n * pace)
            if ratio > limits.max_length_ratio:
                verdict = replace(verdict, status="flagged", problem="overlong",
                                  reason=f"speech {ratio:.2f} times as long as its words need: more was said than heard")
        out.append(verdict)
    return out
