"""The Chapters table: one row per chapter of the run, in book order (or sorted by a column)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...core.state import ChapterView, RunState
from .. import format as fmt
from .table import Column, LiveTable

__all__ = ["ChaptersTable", "chapter_cells", "chapter_sort_values", "verifies"]


def verifies(state: RunState) -> bool:
    """Whether the run checks its sentences: some sentence has a verdict."""
    o = state.overall
    return bool(o.sentences_passed or o.sentences_flagged or o.sentences_unverified)


def chapter_cells(c: ChapterView) -> dict[str, Any]:
    return {
        "num": str(c.index + 1),
        "title": Text(c.title, overflow="ellipsis", no_wrap=True),
        "words": f"{c.words:,}",
        "state": fmt.state_text(c.state.label),
        "pct": f"{c.percent:.0f}%",
        "units": f"{c.done}/{c.units_total}",
        "verified": fmt.verified_percent(c.verified_percent),
        "flagged": fmt.flagged_count(c.flagged),
        "attempts": str(c.attempts),
        "workers": Text(", ".join(c.workers), overflow="ellipsis", no_wrap=True),
    }


def chapter_sort_values(c: ChapterView) -> dict[str, Any]:
    """What each column sorts by, where its text alone would sort wrongly (numbers, fractions)."""
    return {
        "num": c.index,
        "title": c.title.casefold(),
        "words": c.words,
        "pct": c.percent,
        "units": (c.done, c.units_total),
        "verified": c.verified_percent,
        "flagged": c.flagged,
        "attempts": c.attempts,
    }


class ChaptersTable(LiveTable):
    SORTABLE = True
    NATURAL_ORDER = "book order"
    COLUMNS = (
        Column("num", "#", 3, 1),
        Column("title", "Title", 27, 1),
        Column("words", "Words", 6, 3),
        Column("state", "State", 11, 1),
        Column("pct", "%", 4, 1),
        Column("units", "Units", 7, 2),
        Column("attempts", "Tries", 6, 4),
        Column("workers", "Workers", 20, 3),
    )
    #: with verification: the share heard as written and the flagged count, before words at 80 columns
    VERIFY_COLUMNS = COLUMNS[:6] + (Column("verified", "Verif", 5, 2), Column("flagged", "Flag", 4, 2)) + COLUMNS[6:]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verifying = False  # once a sentence is checked the columns stay, even while units are redone

    def render_state(self, state: RunState) -> None:
        if not self.verifying and verifies(state):
            self.verifying = True
            self.set_columns(self.VERIFY_COLUMNS)
        # chapters the run does not cover (not selected) have no units and are left out
        chapters = [(str(i), c) for i, c in sorted(state.chapters.items())
                    if c.unit_ids or not state.overall.units_total]
        self.sync(((key, chapter_cells(c)) for key, c in chapters),
                  sort_values={key: chapter_sort_values(c) for key, c in chapters})
        flagged = state.overall.sentences_flagged
        subtitle = f"{flagged} flagged · f lists them" if flagged else ""
        if (self.border_subtitle or "") != subtitle:
            self.border_subtitle = subtitle

    def selected_chapter(self) -> int | None:
        key = self.selected_key()
        return int(key) if key is not None else None
