"""One sentence's verdict: were its words heard, in order, once, and nothing else?

The score is the share of words heard as written, over the longer of the
expected and the heard word lists, so a dropped ending, a babbled take and a
clause said twice all lower it. Besides the score, a run of expected words with
nothing heard in their place (the engine stopped early or skipped a clause) and
a clause heard twice flag a sentence on their own, whatever its length: a
one-word sentence that is not heard scores 0 and is flagged like any other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Literal, Optional, Sequence

from .align import Alignment, align_words
from .normalize import same_word

__all__ = ["DEFAULT_THRESHOLDS", "FUNCTION_WORDS", "Problem", "Status", "Thresholds", "Verdict", "judge_sentence",
           "unverified"]

#: words too common to make a repeated clause by themselves
FUNCTION_WORDS = frozenset(
    "a an the of to in on at by for with from into onto as and or but nor so if than that this these those it its "
    "is was be are were been am he she they we i you him her them us me my his their our your".split()
)

#: longest inserted window compared with the sentence's own words
_LONGEST_WINDOW = 8

Status = Literal["passed", "flagged", "unverified"]
#: why a sentence was flagged: nothing heard, other words heard, a clause twice, words missing, words wrong,
#: or far more speech than its words need
Problem = Literal["", "silence", "babble", "repeat", "missing", "mismatch", "overlong", "unverified"]


@dataclass(frozen=True)
class Thresholds:
    """When a sentence fails. Calibrated with ``bench/verify_calibrate.py`` on 1,002 sentences of three books
    spoken by clean Piper and heard by Whisper ``tiny.en`` in windows: 1.8 % of all are flagged on their
    first take (prose 0.2 %; a modernist poem with nonsense words and one-word lines 3.5 %) and 1.0 % after
    up to 3 takes, nearly all lines the recogniser cannot hear at all (score 0). A min_score of 0.5 would
    flag 1.3 % but pass more of a damaged take; 0.7 flags 2.3 %."""

    #: lowest score that passes
    min_score: float = 0.6
    #: this many expected words in a row not heard fails the sentence
    max_missing_run: int = 4
    #: an inserted run at least this long (or the whole sentence, if shorter) that repeats
    #: words also heard in their place is a repeated clause
    repeat_min_words: int = 2
    #: ... with at least this many letters
    repeat_min_letters: int = 4
    #: a sentence lasting over this many times its unit's pace per character holds unheard speech
    max_length_ratio: float = 1.5
    #: ... judged only for sentences of at least this many characters (short ones vary too much)
    length_min_chars: int = 30


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


#: the calibrated thresholds
DEFAULT_THRESHOLDS = Thresholds()


def unverified(reason: str, expected_words: int = 0, heard: str = "") -> Verdict:
    """A verdict for a sentence that could not be checked; never counted as passed."""
    return Verdict("unverified", 0.0, 0, 0, False, heard, "unverified", expected_words, 0, reason)


def _gaps(alignment: Alignment) -> list[tuple[int, int, int, int]]:
    """Stretches between matched words: (first expected, end expected, unmatched heard words there, first heard)."""
    e2h, h2e = alignment.expected_to_heard, alignment.heard_to_expected
    anchors = [(i, j) for i, j in enumerate(e2h) if j is not None]
    bounds = [(-1, -1), *anchors, (len(e2h), len(h2e))]
    gaps = []
    for (i0, j0), (i1, j1) in pairwise(bounds):
        if i1 - i0 > 1 or j1 - j0 > 1:
            heard = sum(1 for j in range(j0 + 1, j1) if h2e[j] is None)
            gaps.append((i0 + 1, i1, heard, j0 + 1))
    return gaps


def _longest_missing_run(alignment: Alignment) -> int:
    """Most expected words in one stretch with nothing heard in their place.

    Where other words were heard instead (a rare word misheard, a name spelled
    otherwise) something was said; only words with no stand-in are missing.
    """
    return max((max(0, (end - start) - heard) for start, end, heard, _ in _gaps(alignment)), default=0)


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


def _repeats_heard_words(run: Sequence[str], expected: Sequence[str], alignment: Alignment) -> bool:
    """True when ``run`` is, word for word, a stretch of ``expected`` that was also heard in its place."""
    size = len(run)
    for begin in range(len(expected) - size + 1):
        if all(alignment.expected_to_heard[begin + k] is not None and same_word(expected[begin + k], run[k])
               for k in range(size)):
            return True
    return False


def _says_something(window: Sequence[str], expected: Sequence[str]) -> bool:
    """A repeated clause carries a word of its own; "of the" heard twice is a stumble of the ear."""
    return len(window) >= len(expected) or any(w not in FUNCTION_WORDS for w in window)


def _heard_more_often(expected: Sequence[str], heard: Sequence[str], limits: Thresholds) -> bool:
    """A run of words heard twice in a row that the text has fewer times: a repeat even when a word of it
    was misheard ("Sweet Thames" said twice, heard as "sweet towns, sweet towns")."""
    for size in range(max(2, limits.repeat_min_words), 4):
        where: dict[tuple[str, ...], list[int]] = {}
        for begin in range(len(heard) - size + 1):
            gram = tuple(heard[begin:begin + size])
            if sum(len(w) for w in gram) >= limits.repeat_min_letters and any(w not in FUNCTION_WORDS for w in gram):
                where.setdefault(gram, []).append(begin)
        for gram, starts in where.items():
            # twice in a row (at most one word between): a phrase misheard the same way elsewhere is not
            if not any(b - a <= size + 1 for a, b in pairwise(starts)):
                continue
            written = sum(1 for b in range(len(expected) - size + 1)
                          if all(same_word(expected[b + k], gram[k]) for k in range(size)))
            if len(starts) > written:
                return True
    return False


def _repeated(expected: Sequence[str], heard: Sequence[str], alignment: Alignment, limits: Thresholds) -> bool:
    """A clause said twice: inserted words that repeat words heard where they belong."""
    if not expected:
        return False
    if _heard_more_often(expected, heard, limits):
        return True
    shortest = min(limits.repeat_min_words, len(expected))
    for start, end in _inserted_runs(alignment):
        run = heard[start:end]
        # a long inserted run may hold a repeat inside other noise: try its windows (a repeat longer than
        # _LONGEST_WINDOW words shows in each of its windows, so longer ones need not be tried)
        for size in range(min(len(run), _LONGEST_WINDOW), shortest - 1, -1):
            for begin in range(len(run) - size + 1):
                window = run[begin:begin + size]
                letters = min(limits.repeat_min_letters, sum(len(w) for w in expected))
                if sum(len(w) for w in window) < letters or not _says_something(window, expected):
                    continue
                if _repeats_heard_words(window, expected, alignment):
                    return True
    return False


def judge_sentence(
    expected: Sequence[str],
    heard: Sequence[str],
    heard_text: str = "",
    limits: Thresholds = DEFAULT_THRESHOLDS,
    silent: bool = False,
) -> Verdict:
    """The verdict for one sentence from its normalised expected and heard words.

    ``silent`` says the sentence's own audio is (near) silence, which settles it
    whatever the recogniser wrote there.
    """
    expected = list(expected)
    heard = [] if silent else list(heard)
    alignment = align_words(expected, heard, exhaustive=True)
    matched = alignment.matched
    inserted = alignment.inserted
    longer = max(len(expected), len(heard))
    score = matched / longer if longer else 1.0
    missing_run = _longest_missing_run(alignment)
    repeated = _repeated(expected, heard, alignment, limits)
    problem: Problem = ""
    if expected and (silent or not heard):
        problem = "silence"
    elif expected and inserted > matched and matched < 0.5 * len(expected):
        problem = "babble"
    elif repeated:
        problem = "repeat"
    elif missing_run >= limits.max_missing_run or (score < limits.min_score and len(expected) > len(heard)):
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
