"""Cut a unit's audio into hearing windows at sentence boundaries, each at most one Whisper window long.

Whisper hears 30 s at a time. Heard with word timestamps, a unit costs a second
decoder pass per window to place the words (about half of all recognition time
on one CPU thread), and the window boundaries fall wherever the last timestamp
did. Knowing where every sentence lies, we can do better: pack whole sentences
into windows of at most :data:`WINDOW_S`, cut in the pauses between them, and
have each window heard as one clip without timestamps. Every heard word then
belongs to a known, short list of sentences, and alignment alone says which.

A sentence longer than a window (rare: a long line of verse, a run-on period)
is cut at its quietest moment, so a word is seldom split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["WINDOW_S", "Window", "plan_windows"]

#: the longest window: Whisper's 30 s less a margin for the pauses around the first and last sentence
WINDOW_S = 29.0
#: a long sentence is cut at its quietest 50 ms no earlier than this far into a window
_EARLIEST_CUT_S = 12.0
_QUIET_STEP_S = 0.05


@dataclass(frozen=True)
class Window:
    """A stretch of the unit's audio heard as one clip: ``start``/``end`` in seconds, and the sentences
    (``first`` to ``last`` inclusive) whose speech lies in it. A piece of a sentence cut because it is
    longer than a window has ``first == last`` and ``part`` > 0 for every piece after the first."""

    start: float
    end: float
    first: int
    last: int
    part: int = 0

    @property
    def sentences(self) -> range:
        return range(self.first, self.last + 1)

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _boundaries(timings: Sequence[tuple[float, float]], duration: float) -> list[float]:
    """Where to cut between sentences: the middle of each pause, the audio's ends outside."""
    cuts = [0.0]
    for (_, end), (start, _) in zip(timings, timings[1:]):
        cuts.append((end + start) / 2.0)
    cuts.append(max(duration, timings[-1][1] if timings else 0.0))
    return cuts


def _quietest(samples: np.ndarray, rate: int, lo: float, hi: float) -> float:
    """The middle of the quietest 50 ms step between ``lo`` and ``hi`` seconds."""
    step = max(1, round(_QUIET_STEP_S * rate))
    a, b = max(0, round(lo * rate)), min(samples.size, round(hi * rate))
    if b - a < 2 * step:
        return hi
    usable = (b - a) // step * step
    frames = samples[a:a + usable].astype(np.float64).reshape(-1, step)
    energy = np.mean(frames * frames, axis=1)
    best = int(np.argmin(energy))
    return (a + best * step + step / 2.0) / rate


def _split_long(samples: np.ndarray, rate: int, index: int, start: float, end: float,
                limit: float) -> list[Window]:
    pieces: list[Window] = []
    cursor = start
    while end - cursor > limit:
        cut = _quietest(samples, rate, cursor + min(_EARLIEST_CUT_S, limit / 2.0), cursor + limit)
        pieces.append(Window(cursor, cut, index, index, len(pieces)))
        cursor = cut
    pieces.append(Window(cursor, end, index, index, len(pieces)))
    return pieces


def plan_windows(samples: np.ndarray, sample_rate: int, timings: Sequence[tuple[float, float]],
                 limit: float = WINDOW_S) -> list[Window]:
    """Consecutive sentences packed greedily into windows of at most ``limit`` seconds.

    ``timings`` are the sentences' (start, end) in seconds within ``samples``; the
    windows cover the whole audio, each sentence's speech lying in exactly one of them
    (or, for a sentence longer than ``limit``, in consecutive pieces of its own).
    """
    if not timings:
        return []
    audio = np.asarray(samples).reshape(-1)
    duration = audio.size / sample_rate if sample_rate else 0.0
    cuts = _boundaries(timings, duration)
    windows: list[Window] = []
    first = 0
    for index in range(len(timings)):
        start = cuts[first]
        if index > first and cuts[index + 1] - start > limit:
            windows.append(Window(start, cuts[index], first, index - 1))
            first = index
            start = cuts[index]
        if index == first and cuts[index + 1] - start > limit:
            windows.extend(_split_long(audio, sample_rate, index, start, cuts[index + 1], limit))
            first = index + 1
    if first < len(timings):
        windows.append(Window(cuts[first], cuts[-1], first, len(timings) - 1))
    return windows
