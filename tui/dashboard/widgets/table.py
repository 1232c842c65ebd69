"""A DataTable that is updated in place: rows by key, cells only when they change.

Columns carry a priority; on a narrow terminal the least important ones are
left out, so the table never wraps. Rebuilding happens only when that column
set changes (a resize), and then the cursor goes back to the same row key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Optional, Sequence

from rich.text import Text
from textual.widgets import DataTable

__all__ = ["Column", "LiveTable"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    priority: int = 1  # 1 always shown; higher numbers go first when space is short


class LiveTable(DataTable):
    """Subclasses define ``COLUMNS`` and call :meth:`sync` with ``(row key, {column key: cell})``."""

    COLUMNS: Sequence[Column] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._shown: tuple[str, ...] = ()
        self._cells: dict[str, dict[str, Any]] = {}
        self._rows: list[str] = []
        self._last_rows: list[tuple[str, dict[str, Any]]] = []
        self._rendered_at = float("-inf")
        self._render_cost = 0.0  # seconds spent rendering since the last update

    #: share of one core that re-rendering this table may take; above it, updates come less often
    RENDER_SHARE = 0.04

    def due(self, now: float, interval: float) -> bool:
        """Whether to re-render now: every ``interval``, or less often when rendering is expensive.

        DataTable re-renders every visible cell on any change (a 64-worker table costs tens of
        milliseconds), so the interval stretches to keep the measured render time under
        ``RENDER_SHARE`` of a core: a big table updates about once a second, a small one at 4 Hz.
        """
        wait = max(interval, min(2.0, self._render_cost / self.RENDER_SHARE))
        if now - self._rendered_at < wait:
            return False
        self._rendered_at = now
        self._render_cost = 0.0
        return True

    def render_lines(self, crop):  # noqa: ANN001 - Textual's signature
        started = time.perf_counter()
        try:
            return super().render_lines(crop)
        finally:
            self._render_cost += time.perf_counter() - started

    # ------------------------------------------------------------------ columns
    def columns_for(self, width: int) -> tuple[str, ...]:
        """The columns that fit ``width`` cells, most important first, shown in their own order."""
        chosen: set[str] = set()
        used = 0
        for column in sorted(self.COLUMNS, key=lambda c: c.priority):
            need = column.width + 2
            if column.priority > 1 and used + need > width:
                continue
            chosen.add(column.key)
            used += need
        return tuple(c.key for c in self.COLUMNS if c.key in chosen)

    def _ensure_columns(self) -> None:
        width = self.size.width or (self.app.size.width if self.app else 80)
        shown = self.columns_for(max(20, width - 2))
        if shown == self._shown:
            return
        selected = self.selected_key()
        self.clear(columns=True)
        self._cells.clear()
        self._rows = []
        by_key = {c.key: c for c in self.COLUMNS}
        for key in shown:
            column = by_key[key]
            self.add_column(Text(column.label, style="bold"), key=key, width=column.width)
        self._shown = shown
        self._apply(self._last_rows)
        if selected is not None:
            self.select_key(selected)

    def on_resize(self) -> None:
        self._ensure_columns()

    # ------------------------------------------------------------------ rows
    def sync(self, rows: Iterable[tuple[Hashable, dict[str, Any]]]) -> None:
        """Make the table show ``rows``: new keys are appended, gone keys removed, changed cells updated."""
        self._last_rows = [(str(k), cells) for k, cells in rows]
        if not self._shown:
            self._ensure_columns()
            return
        self._apply(self._last_rows)

    def _apply(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        wanted = {k for k, _ in rows}
        for key in [k for k in self._rows if k not in wanted]:
            self.remove_row(key)
            self._rows.remove(key)
            self._cells.pop(key, None)
        for key, cells in rows:
            old = self._cells.get(key)
            if old is None:
                self.add_row(*(cells.get(c, "") for c in self._shown), key=key)
                self._rows.append(key)
                self._cells[key] = {c: cells.get(c, "") for c in self._shown}
                continue
            for column in self._shown:
                value = cells.get(column, "")
                if old.get(column) != value:
                    self.update_cell(key, column, value)
                    old[column] = value

    # ------------------------------------------------------------------ selection
    def selected_key(self) -> Optional[str]:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or resizing table has no selection
            return None

    def select_key(self, key: str) -> None:
        try:
            self.move_cursor(row=self.get_row_index(key), animate=False)
        except Exception:  # noqa: BLE001 - the row is gone: keep the cursor where it is
            pass
