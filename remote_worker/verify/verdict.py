"""One sentence's verdict: were its words heard, in order, once, and nothing else?

The score is matched words over expected plus inserted words, so a dropped
ending, a babbled take and a clause said twice all lower it. Besides the score,
a run of expected words not heard (the engine stopped early or skipped a clause)
and a clause heard twice flag a sentence on their own, whatever its length: a
one-word sentence that is not heard scores 0 and is flagged like any other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, Optional, Sequence

from .align import Alignment, align_words
from .normalize import same_word

__all__ = ["Status", "Problem", "Thresholds", "Verdict", "judge_sentence", "unverified"]

Status = Literal["passed", "flagged", "unverified"]
#: why a sentence was flagged: nothing heard, other words heard, a clause twice, words missing, words wrong
Problem = Literal["", "silence", "babble", "repeat", "missing", "mismatch", "unverified"]


@dataclass(frozen=True)
class Thresholds:
    """When a sentence fails. Calibrated on clean Piper speech heard by Whisper ``tiny.en``
    (``bench/verify_calibrate.py``): at these values about 1 % of clean sentences are flagged."""

    #: lowest score that passes
    min_score: float = 0.6
    #: this many expected words in a row not heard fails the sentence
    max_missing_run: int = 4
    #: an inserted run at least this long that repeats the sentence's own words is a repeat
    repeat_min_words: int = 2
    #: ... and has at least this many letters (so "of the" heard twice is not a repeated clause)
    repeat_min_letters: int = 7


@dataclass(frozen=True)
class Verdict:
    """What verification concluded about one sentence."""

    status: Status
    score: float
    missing_run: int
    inserted: int
    repeated: bool
    heard: str
    problem: Problem = ""
    expected_words: int = 0
    matched_words: int = 0
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    def as_dict(self) -> dict[str, object]:
        """Plain values for a JSON report (``passed`` included)."""
        return {**asdict(self), "passed": self.passed}


def unverified(reason: str, expected_words: int = 0) -> Verdict:
    """A verdict for a sentence that could not be checked; never counted as passed."""
    return Verdict("unverified", 0.0, 0, 0, False, "", "unverified", expected_words, 0, reason)


def _longest_missing_run(alignment: Alignment) -> int:
    longest = current = 0
    for heard in alignment.expected_to_heard:
        current = current + 1 if heard is None else 0
        longest = max(longest, current)
    return longest


def _inserted_runs(alignment: Alignment) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start: Optional[int] = None
    for j, expected in enumerate([*alignment.heard_to_expected, 0]):
        if expected is None and start is None:
            start = j
        elif expected is not None and start is not None:
            runs.append((start, j))
            start = None
    return runs


def _repeats_own_words(run: Sequence[str], expected: Sequence[str]) -> bool:
    """True when ``run`` occurs, word for word (allowing spelling variants), inside ``expected``."""
    size = len(run)
    for begin in range(len(expected) - size + 1):
        if all(same_word(expected[begin + k], run[k]) for k in range(size)):
            return True
    return False


def _repeated(expected: Sequence[str], heard: Sequence[str], alignment: Alignment, limits: Thresholds) -> bool:
    if not expected:
        return False
    shortest = min(limits.repeat_min_words, len(expected))
    letters = min(limits.repeat_min_letters, sum(len(w) for w in expected))
    for start, end in _inserted_runs(alignment):
        run = heard[start:end]
        # a long inserted run may hold a repeat inside other noise: try every window of it
        for size in range(len(run), shortest - 1, -1):
            for begin in range(len(run) - size + 1):
                window = run[begin:begin + size]
                if sum(len(w) for w in window) >= letters and _repeats_own_words(window, expected):
                    return True
    return False


def judge_sentence(
    expected: Sequence[str],
    heard: Sequence[str],
    heard_text: str = "",
    limits: Thresholds = Thresholds(),
    silent: bool = False,
) -> Verdict:
    """The verdict for one sentence from its normalised expected and heard words.

    ``silent`` says the sentence's own audio is (near) silence, which settles it
    whatever the recogniser wrote there.
    """
    expected = list(expected)
    heard = [] if silent else list(heard)
    alignment = align_words(expected, heard)
    matched = alignment.matched
    inserted = alignment.inserted
    total = len(expected) + inserted
    score = matched / total if total else 1.0
    missing_run = _longest_missing_run(alignment)
    repeated = _repeated(expected, heard, alignment, limits)
    problem: Problem = ""
    if expected and (silent or not heard):
        problem = "silence"
    elif expected and inserted > matched and matched < 0.5 * len(expected):
        problem = "babble"
    elif repeated:
        problem = "repeat"
    elif missing_run >= limits.max_missing_run or (score < limits.min_score and len(expected) - matched >= inserted):
        problem = "missing"
    elif score < limits.min_score:
        problem = "mismatch"
    status: Status = "flagged" if problem else "passed"
    return Verdict(status, round(score, 4), missing_run, inserted, repeated, heard_text.strip(), problem,
                   len(expected), matched, _reason(problem, missing_run, inserted))


def _reason(problem: Problem, missing_run: int, inserted: int) -> str:
    if problem == "silence":
        return "nothing heard"
    if problem == "babble":
        return f"heard other words ({inserted} not in the text)"
    if problem == "repeat":
        return "a clause was heard twice"
    if problem == "missing":
        return f"{missing_run} word(s) in a row not heard"
    if problem == "mismatch":
        return f"heard words differ from the text ({inserted} inserted)"
    return ""
