"""Which expected word was heard as which recognised word, in order.

difflib anchors the exactly equal runs (fast, and right for nearly all of a
clean take); each stretch between anchors is then aligned with a small dynamic
programme that also accepts sound-alike or differently spelled words and words
written together or apart ("to day" / "today"). Everything else is either not
heard (an expected word with no partner) or inserted (a heard word with none).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Optional, Sequence

from .normalize import joined_same, same_word

__all__ = ["Alignment", "align_words"]

#: a stretch larger than this (words x words) is not searched for near matches
_MAX_CELLS = 60_000
_NEAR, _JOINED, _GAP = 0.1, 0.2, 1.0


@dataclass(frozen=True)
class Alignment:
    """``expected_to_heard[i]`` is the heard word that expected word ``i`` was heard as (None: not heard);
    ``heard_to_expected[j]`` is the expected word heard word ``j`` stands for (None: inserted)."""

    expected_to_heard: list[Optional[int]]
    heard_to_expected: list[Optional[int]]

    @property
    def matched(self) -> int:
        return sum(1 for j in self.expected_to_heard if j is not None)

    @property
    def inserted(self) -> int:
        return sum(1 for i in self.heard_to_expected if i is None)


def align_words(expected: Sequence[str], heard: Sequence[str], exhaustive: bool = False) -> Alignment:
    """Monotone alignment of two lists of normalised words.

    ``exhaustive`` searches the whole of a small pair (one sentence) for the best
    alignment instead of anchoring on exactly equal runs first, which can tie a
    common word ("it") to the wrong place when words around it were misheard.
    """
    e2h: list[Optional[int]] = [None] * len(expected)
    h2e: list[Optional[int]] = [None] * len(heard)
    if exhaustive and len(expected) * len(heard) <= _MAX_CELLS:
        _near_matches(expected, heard, 0, len(expected), 0, len(heard), e2h, h2e)
        return Alignment(e2h, h2e)
    matcher = SequenceMatcher(None, list(expected), list(heard), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                e2h[i1 + offset] = j1 + offset
                h2e[j1 + offset] = i1 + offset
        elif i2 > i1 and j2 > j1:
            _near_matches(expected, heard, i1, i2, j1, j2, e2h, h2e)
    return Alignment(e2h, h2e)


def _near_matches(expected: Sequence[str], heard: Sequence[str], i1: int, i2: int, j1: int, j2: int,
                  e2h: list[Optional[int]], h2e: list[Optional[int]]) -> None:
    """Least-cost alignment of one stretch; a pair that is not alike costs as much as a miss plus an insertion."""
    n, m = i2 - i1, j2 - j1
    if n * m > _MAX_CELLS:
        return
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    step: list[list[tuple[int, int]]] = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for a in range(n + 1):
        for b in range(m + 1):
            here = cost[a][b]
            if here == inf:
                continue
            moves = [((1, 0), _GAP), ((0, 1), _GAP)]
            if a < n and b < m and same_word(expected[i1 + a], heard[j1 + b]):
                moves.append(((1, 1), 0.0 if expected[i1 + a] == heard[j1 + b] else _NEAR))
            if a + 1 < n and b < m and joined_same((expected[i1 + a], expected[i1 + a + 1]), heard[j1 + b]):
                moves.append(((2, 1), _JOINED))
            if a < n and b + 1 < m and joined_same((heard[j1 + b], heard[j1 + b + 1]), expected[i1 + a]):
                moves.append(((1, 2), _JOINED))
            for (da, db), price in moves:
                na, nb = a + da, b + db
                if na <= n and nb <= m and here + price < cost[na][nb]:
                    cost[na][nb] = here + price
                    step[na][nb] = (da, db)
    a, b = n, m
    while a or b:
        da, db = step[a][b]
        a, b = a - da, b - db
        if da and db:
            for x in range(da):
                e2h[i1 + a + x] = j1 + b
            for y in range(db):
                h2e[j1 + b + y] = i1 + a
