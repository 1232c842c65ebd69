"""Plain data types for a parsed book, shared by ingest, segmentation, assembly and the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

__all__ = ["BookMeta", "Chapter", "Book", "WorkUnit", "BookError"]


class BookError(Exception):
    """A book cannot be read. ``str(err)`` is a one-line message meant for the user."""


@dataclass
class BookMeta:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    language: str = "en"
    publisher: str = ""
    date: str = ""
    description: str = ""
    cover: Optional[bytes] = None
    cover_mime: str = ""

    @property
    def year(self) -> str:
        return self.date[:4] if self.date[:4].isdigit() else ""


@dataclass
class Chapter:
    """One readable section of the book, in reading order.

    ``index`` is the chapter's position among the chapters kept for reading
    (0-based); ``number`` is its 1-based position as shown to users and used by
    ``--chapters``.
    """

    index: int
    title: str
    paragraphs: list[str]
    source: str = ""

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


@dataclass
class Book:
    """A parsed book. ``warnings`` lists one-line notes about content read leniently
    (a malformed document, a spine item that could not be used), for the CLI to show."""

    meta: BookMeta
    chapters: list[Chapter]
    source_path: Optional[Path] = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WorkUnit:
    """A run of whole sentences inside one chapter: the scheduler's unit of work.

    ``id`` is stable for a given book and settings (``c0003-u0007``);
    ``content_hash`` covers the text and the engine/voice settings, so a resumed
    run reuses audio only when both are unchanged.
    """

    id: str
    chapter_index: int
    index: int
    sentences: tuple[str, ...]
    paragraph_starts: tuple[int, ...]
    content_hash: str
    chars: int
    est_seconds: float
