"""The Chapters table: one row per chapter of the run, in book order."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...core.state import ChapterView, RunState
from .. import format as fmt
from .table import Column, LiveTable

__all__ = ["ChaptersTable", "chapter_cells"]


def chapter_cells(c: ChapterView) -> dict[str, Any]:
    return {
        "num": str(c.index + 1),
        "title": Text(c.title, overflow="ellipsis", no_wrap=True),
        "words": f"{c.words:,}",
        "state": fmt.state_text(c.state),
        "pct": f"{c.percent:.0f}%",
        "units": f"{c.done}/{c.units_total}",
        "attempts": str(c.attempts),
        "workers": Text(", ".join(c.workers), overflow="ellipsis", no_wrap=True),
    }


class ChaptersTable(LiveTable):
    COLUMNS = (
        Column("num", "#", 3, 1),
        Column("title", "Title", 28, 1),
        Column("words", "Words", 6, 3),
        Column("state", "State", 11, 1),
        Column("pct", "%", 4, 1),
        Column("units", "Units", 7, 2),
        Column("attempts", "Tries", 5, 4),
        Column("workers", "Workers", 20, 3),
    )

    def render_state(self, state: RunState) -> None:
        # chapters the run does not cover (not selected) have no units and are left out
        rows = [(i, chapter_cells(c)) for i, c in sorted(state.chapters.items())
                if c.unit_ids or not state.overall.units_total]
        self.sync(rows)

    def selected_chapter(self) -> int | None:
        key = self.selected_key()
        return int(key) if key is not None else None
