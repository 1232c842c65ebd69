"""Front and back matter recognised by chapter title and position, for books that lost their landmarks.

A book converted by calibre (MOBI, AZW3, DOCX...), written as FB2, or an EPUB
that marks none of its matter carries no ``epub:type``, guide or landmarks to go
by, so its title page, contents, copyright page or index arrive as ordinary
chapters. They are recognised here by what they are
called (or, for an untitled chapter, by its first short line) and where they
stand, from one list, :data:`MATTER_TITLES`: each title names the EPUB
structural type it stands for (one the EPUB reader skips, so every format leaves
out the same pages) and where in the book it counts as matter. Some names are
never a chapter wherever they appear (contents, index, copyright, colophon,
licence...); names a story might also give a chapter (imprint, cover, credits,
pages...) only count in the leading or trailing run of matter, notes only at the
very end, and a chapter named like the book itself only as a title page at the
very start and when short. A chapter with any other name is always kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from .model import Book, Chapter

__all__ = [
    "MATTER_TITLES",
    "MatterTitle",
    "Where",
    "GENERIC_TITLE",
    "generic_title",
    "title_matter",
    "matter_kind",
    "drop_unmarked_matter",
]

#: Titles readers give a chapter that has none of its own (``Chapter 3``), from :func:`generic_title`.
GENERIC_TITLE = re.compile(r"^chapter \d+$", re.IGNORECASE)


def generic_title(number: int) -> str:
    """The title of an untitled chapter, 1-based; :data:`GENERIC_TITLE` recognises it."""
    return f"Chapter {number}"


class Where(Enum):
    """Where in the book a title marks matter rather than a chapter to read."""

    ANYWHERE = "anywhere"
    FRONT = "front"  # only in the leading run of matter
    BACK = "back"  # only in the trailing run
    EDGES = "edges"  # in either run, never between chapters


@dataclass(frozen=True)
class MatterTitle:
    """Titles (a regular expression over the lower-cased words of a title) of one kind of matter."""

    pattern: str
    kind: str  # the EPUB structural type (``epub:type``) such a page carries where it is marked
    where: Where
    read: bool = False  # read aloud, yet notes before it still count as the book's last pages


#: Every title read as front or back matter, in one list for every input format. Audiobooks leave out
#: what only makes sense on a page (contents, index, lists of figures, the title page), the publisher's
#: boilerplate (copyright, Standard Ebooks' imprint, colophon and Uncopyright, licences, credits) and
#: notes, which the EPUB reader also skips; dedications, epigraphs, prefaces, afterwords,
#: acknowledgements and "About the Author" are part of what a listener expects to hear and are kept
#: (the last two are listed, as read, so that notes before them are still recognised as back matter).
MATTER_TITLES: tuple[MatterTitle, ...] = (
    MatterTitle(r"(?:the )?(?:table of )?contents|toc", "toc", Where.ANYWHERE),
    MatterTitle(r"(?:un)?copyright(?: page| notice| information)?", "copyright-page", Where.ANYWHERE),
    MatterTitle(r"licen[cs]e|(?:the )?(?:full )?project gutenberg licen[cs]e.*", "copyright-page", Where.ANYWHERE),
    MatterTitle(r"imprint", "imprint", Where.EDGES),
    MatterTitle(r"imprimatur", "imprimatur", Where.EDGES),
    MatterTitle(r"colophon", "colophon", Where.ANYWHERE),
    MatterTitle(r"(?:image |photo |photograph |picture |illustration )?credits", "credits", Where.EDGES),
    MatterTitle(r"errata", "errata", Where.EDGES),
    MatterTitle(r"(?:general |subject |name )?index", "index", Where.ANYWHERE),
    MatterTitle(r"(?:selected )?bibliography", "bibliography", Where.ANYWHERE),
    MatterTitle(r"glossary", "glossary", Where.ANYWHERE),
    MatterTitle(r"title ?page", "titlepage", Where.ANYWHERE),
    MatterTitle(r"half ?title(?: page)?", "halftitlepage", Where.ANYWHERE),
    MatterTitle(r"cover(?: page)?", "cover", Where.EDGES),
    MatterTitle(r"guide|landmarks", "landmarks", Where.EDGES),
    MatterTitle(r"pages|page list", "page-list", Where.EDGES),
    MatterTitle(r"list of (?:illustrations|figures|maps|plates)", "loi", Where.ANYWHERE),
    MatterTitle(r"list of tables", "lot", Where.ANYWHERE),
    MatterTitle(r"frontispiece", "frontispiece", Where.FRONT),
    MatterTitle(r"(?:also|other (?:books|titles|works)) by .+|by the same author", "seriespage", Where.EDGES),
    MatterTitle(r"(?:notes|end ?notes|foot ?notes|rear ?notes)(?: (?:on|to) .*)?", "endnotes", Where.BACK),
    MatterTitle(r"about the (?:authors?|translators?|illustrators?|editors?)", "", Where.BACK, read=True),
    MatterTitle(r"acknowledge?ments", "acknowledgments", Where.BACK, read=True),
)

_COMPILED = tuple((re.compile(f"^(?:{t.pattern})$"), t) for t in MATTER_TITLES)
_POSITIONS = {
    "front": frozenset({Where.ANYWHERE, Where.FRONT, Where.EDGES}),
    "back": frozenset({Where.ANYWHERE, Where.BACK, Where.EDGES}),
    "middle": frozenset({Where.ANYWHERE}),
}
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
_TITLE_PAGE_WORDS = 300


def _label(text: str) -> str:
    """Lower-cased words only: ``"The Uncopyright."`` → ``"the uncopyright"``."""
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


def title_matter(title: str, *, position: str) -> Optional[MatterTitle]:
    """The entry of :data:`MATTER_TITLES` a chapter called ``title`` matches at ``position``, or None."""
    label = _label(title)
    allowed = _POSITIONS[position]
    for pattern, entry in _COMPILED:
        if entry.where in allowed and pattern.match(label):
            return entry
    return None


def matter_kind(chapter: Chapter, book_title: str, *, position: str) -> Optional[str]:
    """Why ``chapter`` is front/back matter (its label), or None for a chapter to read.

    ``position`` is ``"front"`` (in the leading run), ``"back"`` (in the trailing run) or ``"middle"``.
    """
    label = _chapter_label(chapter)
    if not label:
        return None
    entry = title_matter(label, position=position)
    if entry is not None and not entry.read:
        return label
    if position == "front" and _is_title_page(chapter, label, book_title):
        return label
    return None


def _read_back_matter(chapter: Chapter) -> bool:
    entry = title_matter(_chapter_label(chapter), position="back")
    return entry is not None and entry.read


def drop_unmarked_matter(book: Book) -> list[str]:
    """Remove recognised front/back matter from ``book`` in place; returns the titles removed.

    Never removes every chapter: a book that would be left empty is left as it was.
    """
    chapters = book.chapters
    title = book.meta.title
    keep = [True] * len(chapters)
    start = 0
    while start < len(chapters) and (
        matter_kind(chapters[start], title, position="front") or _is_contents(chapters[start], chapters[start + 1:])
    ):
        keep[start] = False
        start += 1
    end = len(chapters)
    for i in range(len(chapters) - 1, start - 1, -1):
        if matter_kind(chapters[i], title, position="back"):
            keep[i] = False
        elif not _read_back_matter(chapters[i]):
            break
        end = i
    for i in range(start, end):
        if matter_kind(chapters[i], title, position="middle"):
            keep[i] = False
    if not any(keep):
        return []
    dropped = [ch.title for ch, k in zip(chapters, keep) if not k]
    kept = [ch for ch, k in zip(chapters, keep) if k]
    book.chapters = [Chapter(index=i, title=ch.title, paragraphs=ch.paragraphs, source=ch.source)
                     for i, ch in enumerate(kept)]
    return dropped
