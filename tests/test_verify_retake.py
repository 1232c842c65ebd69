"""The retake loop with a scripted speaker and checker (no model needed)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

from remote_worker.verify import Verdict, retake_flagged
from remote_worker.verify.retake import better_take
from remote_worker.verify.verdict import unverified


def verdict(ok: bool, score: float = 1.0) -> Verdict:
    return Verdict("passed" if ok else "flagged", score if ok else min(score, 0.3), 0 if ok else 5, 0, False, "x",
                   "" if ok else "missing")


class Script:
    """Sentence i is good from take ``good_from[i]`` on; every take's audio holds its take number."""

    def __init__(self, good_from: list[int]) -> None:
        self.good_from = good_from
        self.spoken: list[tuple[int, int]] = []
        self.batches: list[list[int]] = []

    def speak(self, index: int, take: int) -> np.ndarray:
        self.spoken.append((index, take))
        return np.full(4, take, dtype=np.float32)

    def verify(self, ids: Sequence[int], audio: Sequence[np.ndarray]) -> list[Verdict]:
        self.batches.append(list(ids))
        return [verdict(int(a[0]) >= self.good_from[i], score=0.1 * int(a[0])) for i, a in zip(ids, audio)]


def test_only_flagged_sentences_are_spoken_again_and_the_best_take_is_kept() -> None:
    script = Script([0, 1, 2, 9])
    results = retake_flagged(4, script.speak, script.verify, max_takes=3)
    assert [r.passed for r in results] == [True, True, True, False]
    assert [r.takes for r in results] == [1, 2, 3, 3]
    assert [r.kept_take for r in results] == [0, 1, 2, 2]  # the last one keeps its best (highest-scoring) take
    assert [int(r.audio[0]) for r in results] == [0, 1, 2, 2]
    assert script.spoken.count((0, 1)) == 0 and len(script.spoken) == 4 + 3 + 2
    assert script.batches[1:] == [[1, 2, 3], [2, 3]]  # retakes of a round are heard together


def test_first_takes_can_come_from_a_whole_unit_check() -> None:
    script = Script([1, 0])
    first = ([np.zeros(4, np.float32), np.zeros(4, np.float32)], [verdict(False), verdict(True)])
    results = retake_flagged(2, script.speak, script.verify, first=first, max_takes=2, batch_size=1)
    assert script.spoken == [(0, 1)] and results[0].passed and results[1].kept_take == 0


def test_unverified_sentences_are_not_retaken_and_stay_unverified() -> None:
    script = Script([0])
    first = ([np.zeros(4, np.float32)], [unverified("language 'de' unknown")])
    results = retake_flagged(1, script.speak, script.verify, first=first)
    assert script.spoken == [] and results[0].verdict.status == "unverified" and not results[0].passed


def test_ranking_and_limits() -> None:
    assert better_take(verdict(True), verdict(False)) and not better_take(verdict(False), verdict(True))
    assert not better_take(unverified("asr failed"), verdict(False))
    with pytest.raises(ValueError):
        retake_flagged(1, Script([0]).speak, Script([0]).verify, max_takes=0)
