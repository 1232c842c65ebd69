"""Split one sentence into pieces an engine can speak whole.

XTTS cuts text beyond ~250 characters off without any error, so the worker
splits a long sentence before synthesis instead of refusing it or losing its
end. Pieces are cut at the strongest boundary that fits: sentence ends, then
clause marks (``;`` ``:``, dashes, commas), then spaces; only a run of
characters with no space at all is cut mid-word. Nothing is dropped: the
pieces joined by single spaces give the input with its whitespace collapsed.

Pure functions, no engine imports, so this always runs in the test suite.
"""

from __future__ import annotations

import re

__all__ = ["split_for_engine", "BOUNDARY_TIERS"]

#: Boundaries from strongest to weakest; a match's end is where a piece may stop.
BOUNDARY_TIERS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[.!?…。！？][\"'”’)\]]*\s"),
    re.compile(r"[;:；：]\s|[;:；：](?=\S)"),
    re.compile(r"\s[—–-]{1,2}\s|—"),
    re.compile(r"[,，、]\s?"),
    re.compile(r"\s"),
)
_WS = re.compile(r"\s+")


def _cut_point(rest: str, limit: int) -> int:
    """Index at which to end the next piece of ``rest`` (longer than ``limit``)."""
    window = rest[: limit + 1]
    last_tier = len(BOUNDARY_TIERS) - 1
    for tier, pattern in enumerate(BOUNDARY_TIERS):
        # a strong boundary very early would leave a stub; accept it only at the space tier
        floor = 1 if tier == last_tier else max(1, limit // 3)
        cut = 0
        for match in pattern.finditer(window):
            end = match.end()
            if end >= floor and len(rest[:end].rstrip()) <= limit and rest[:end].strip():
                cut = end
        if cut:
            return cut
    return limit  # one unbroken run of characters: cut it, never drop it


def split_for_engine(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` in order, each at most ``limit`` characters; whitespace collapsed.

    Empty or blank text gives ``[]``; text within the limit gives one piece.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    rest = _WS.sub(" ", text).strip()
    pieces: list[str] = []
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        head = rest[:cut].strip()
        if head:
            pieces.append(head)
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces
