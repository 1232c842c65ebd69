"""Front and back matter recognised by chapter title and position, for books that lost their landmarks.

A book converted by calibre (MOBI, AZW3, DOCX...) or written as FB2 carries no
``epub:type``, guide or landmarks, so its title page, contents, copyright page or
index arrive as ordinary chapters. They are recognised here by what they are
called (or, for an untitled chapter, by its first short line) and where they
stand: some names are never a chapter wherever they appear (contents, index,
copyright, colophon, licence...), a chapter named like the book itself only
counts as a title page at the very start and when short, and notes only at the
very end. A chapter with any other name is always kept.
"""

from __future__ import annotations

import re
from typing import Optional

from .model import Book, Chapter

__all__ = ["matter_kind", "drop_unmarked_matter", "GENERIC_TITLE"]

#: Titles readers give a chapter that has none of its own (``Chapter 3``, as in epub.py).
GENERIC_TITLE = re.compile(r"^chapter \d+$", re.IGNORECASE)

_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)

# never read aloud, wherever they stand
_ANYWHERE = re.compile(
    r"^(?:"
    r"(?:the )?(?:table of )?contents|toc|"
    r"copyright(?: page| notice)?|imprint|imprimatur|colophon|credits|errata|"
    r"(?:general |subject |name )?index|(?:selected )?bibliography|glossary|"
    r"licen[cs]e|(?:the )?(?:full )?project gutenberg licen[cs]e.*|"
    r"title ?page|half ?title(?: page)?|cover(?: page)?|"
    r"guide|landmarks|pages|page list|list of (?:illustrations|figures|tables|maps)"
    r")$"
)
# only in the trailing run of chapters
_BACK = re.compile(r"^(?:notes|end ?notes|foot ?notes|rear ?notes)(?: (?:on|to) .*)?$")
_TITLE_PAGE_WORDS = 300


def _label(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def _chapter_label(chapter: Chapter) -> str:
    """The chapter's name; for an untitled one, its first line when that line is short."""
    title = chapter.title.strip()
    if title and not GENERIC_TITLE.match(title):
        return _label(title)
    first = chapter.paragraphs[0] if chapter.paragraphs else ""
    return _label(first) if len(first.split()) <= 8 else ""


def _short_lines(chapter: Chapter, count: int = 3) -> list[str]:
    return [_label(p) for p in chapter.paragraphs[:count] if len(p.split()) <= 8]


def _is_title_page(chapter: Chapter, label: str, book_title: str) -> bool:
    """Short, and named like the book (an untitled one: one of its first lines is the book's title)."""
    if chapter.words > _TITLE_PAGE_WORDS:
        return False
    names = {_label(book_title), _label(book_title.split(":", 1)[0])} - {""}
    if label in names:
        return True
    untitled = not chapter.title.strip() or bool(GENERIC_TITLE.match(chapter.title.strip()))
    return untitled and any(line in names for line in _short_lines(chapter))


def _is_contents(chapter: Chapter, later: list[Chapter]) -> bool:
    """Short, and most of its lines are the titles of the chapters after it: a table of contents."""
    if chapter.words > _TITLE_PAGE_WORDS or len(later) < 2:
        return False
    titles = {_label(ch.title) for ch in later} - {""}
    lines = [_label(p) for p in chapter.paragraphs]
    named = sum(1 for line in lines if line in titles)
    return named >= 2 and named * 2 >= len(lines) - 2


def matter_kind(chapter: Chapter, book_title: str, *, position: str) -> Optional[str]:
    """Why ``chapter`` is front/back matter (its label), or None for a chapter to read.

    ``position`` is ``"front"`` (in the leading run), ``"back"`` (in the trailing run) or ``"middle"``.
    """
    label = _chapter_label(chapter)
    if not label:
        return None
    if _ANYWHERE.match(label):
        return label
    if position == "front" and _is_title_page(chapter, label, book_title):
        return label
    if position == "back" and _BACK.match(label):
        return label
    return None


def drop_unmarked_matter(book: Book) -> list[str]:
    """Remove recognised front/back matter from ``book`` in place; returns the titles removed.

    Never removes every chapter: a book that would be left empty is left as it was.
    """
    chapters = book.chapters
    keep = [True] * len(chapters)
    start = 0
    while start < len(chapters) and (
        matter_kind(chapters[start], book.meta.title, position="front")
        or _is_contents(chapters[start], chapters[start + 1:])
    ):
        keep[start] = False
        start += 1
    end = len(chapters)
    while end > start and matter_kind(chapters[end - 1], book.meta.title, position="back"):
        keep[end - 1] = False
        end -= 1
    for i in range(start, end):
        if matter_kind(chapters[i], book.meta.title, position="middle"):
            keep[i] = False
    if not any(keep):
        return []
    dropped = [ch.title for ch, k in zip(chapters, keep) if not k]
    kept = [ch for ch, k in zip(chapters, keep) if k]
    book.chapters = [Chapter(index=i, title=ch.title, paragraphs=ch.paragraphs, source=ch.source)
                     for i, ch in enumerate(kept)]
    return dropped
