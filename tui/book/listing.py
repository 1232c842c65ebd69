"""``--list-chapters``: a plain-text table to check the chapters before converting."""

from __future__ import annotations

from .model import Book

__all__ = ["format_chapter_list"]

_TITLE_WIDTH = 60


def _fit(title: str, width: int) -> str:
    title = " ".join(title.split()) or "(untitled)"
    return title if len(title) <= width else title[: width - 1] + "…"


def format_chapter_list(book: Book) -> str:
    """Index, title and word count per chapter, then the total; no trailing newline."""
    heading = book.meta.title or (book.source_path.name if book.source_path else "")
    if book.meta.authors:
        heading += f" — {', '.join(book.meta.authors)}"
    rows = [(str(ch.number), _fit(ch.title, _TITLE_WIDTH), f"{ch.words:,}") for ch in book.chapters]
    total = f"{sum(ch.words for ch in book.chapters):,}"
    total_label = f"Total ({len(rows)} chapter{'s' if len(rows) != 1 else ''})"
    num_w = max([1] + [len(r[0]) for r in rows])
    title_w = max([len("Title"), len(total_label)] + [len(r[1]) for r in rows])
    words_w = max([len("Words"), len(total)] + [len(r[2]) for r in rows])
    lines = [heading] if heading else []
    lines.append(f"{'#':>{num_w}}  {'Title':<{title_w}}  {'Words':>{words_w}}")
    for number, title, words in rows:
        lines.append(f"{number:>{num_w}}  {title:<{title_w}}  {words:>{words_w}}")
    lines.append(f"{'':>{num_w}}  {total_label:<{title_w}}  {total:>{words_w}}")
    return "\n".join(lines)
