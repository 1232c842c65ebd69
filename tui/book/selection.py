"""``--chapters 3-10,12``: which chapters to read, 1-based as ``--list-chapters`` shows them."""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from .model import Book, BookError

__all__ = ["ChapterSelectionError", "parse_chapter_selection", "select_chapters"]

_PART = re.compile(r"^(\d+)?\s*(-)?\s*(\d+)?$")


class ChapterSelectionError(BookError, ValueError):
    """A ``--chapters`` spec that cannot be used. One line."""


def parse_chapter_selection(spec: str, count: int) -> list[int]:
    """``"3-10,12"`` → 0-based indices in book order, each once.

    Parts are ``N``, ``A-B``, ``A-`` (to the end) and ``-B`` (from the start).
    """
    if count <= 0:
        raise ChapterSelectionError("the book has no chapters to select")
    if not spec or not spec.strip():
        raise ChapterSelectionError("empty chapter selection; use e.g. 3-10,12")
    chosen: set[int] = set()
    for raw in spec.split(","):
        part = raw.strip()
        m = _PART.match(part)
        if not part or m is None or (m.group(1) is None and m.group(3) is None):
            raise ChapterSelectionError(f"bad chapter selection {part or raw!r} in {spec!r}; use e.g. 3-10,12")
        first = int(m.group(1)) if m.group(1) else 1
        if m.group(2):
            last = int(m.group(3)) if m.group(3) else count
        else:
            last = first
        for number in (first, last):
            if number < 1 or number > count:
                raise ChapterSelectionError(
                    f"chapter {number} is out of range: the book has chapters 1-{count}"
                )
        if last < first:
            raise ChapterSelectionError(f"chapter range {part!r} runs backwards")
        chosen.update(range(first - 1, last))
    return sorted(chosen)


def select_chapters(book: Book, indices: Iterable[int]) -> Book:
    """A copy of ``book`` with only the chosen chapters, renumbered from 0 in reading order."""
    wanted = sorted(set(indices))
    for i in wanted:
        if i < 0 or i >= len(book.chapters):
            raise ChapterSelectionError(f"chapter {i + 1} is out of range: the book has chapters 1-{len(book.chapters)}")
    chapters = [dataclasses.replace(book.chapters[i], index=n) for n, i in enumerate(wanted)]
    return dataclasses.replace(book, chapters=chapters, warnings=list(book.warnings))
