"""A DataTable that is updated in place: rows by key, cells only when they change.

Columns carry a priority; on a narrow terminal the least important ones are
left out, so the table never wraps. Rebuilding happens only when that column
set changes (a resize), and then the cursor goes back to the same row key.
"""

from __future__ import annotations

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
