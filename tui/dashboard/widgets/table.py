"""A DataTable that is updated in place: rows by key, cells only when they change.

Columns carry a priority; on a narrow terminal the least important ones are
left out, so the table never wraps. Rebuilding happens only when that column
set changes (a resize), and then the cursor goes back to the same row key.

A sortable table keeps its rows ordered by one column (a header click picks it,
a second click reverses it) through every update, and the selected row stays
selected wherever it moves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Mapping, Optional, Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

__all__ = ["Column", "LiveTable", "sort_order"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    priority: int = 1  # 1 always shown; higher numbers go first when space is short


def _plain(cell: Any) -> Optional[str]:
    """A cell's text for sorting; None when the cell is empty (it sorts last)."""
    text = (cell.plain if isinstance(cell, Text) else str(cell)).strip()
    return text.casefold() if text else None


def sort_order(keys: Sequence[str], value: Mapping[str, Any], reverse: bool = False) -> list[str]:
    """``keys`` ordered by ``value[key]``; ties keep their order, and keys valued None come last either way."""
    present = [k for k in keys if value.get(k) is not None]
    missing = [k for k in keys if value.get(k) is None]
    try:
        present.sort(key=lambda k: value[k], reverse=reverse)
    except TypeError:  # values of mixed kinds: their text still gives one order
        present.sort(key=lambda k: str(value[k]), reverse=reverse)
    return present + missing


class LiveTable(DataTable):
    """Subclasses define ``COLUMNS`` and call :meth:`sync` with ``(row key, {column key: cell})``."""

    COLUMNS: Sequence[Column] = ()
    #: whether a header click (and :meth:`cycle_sort`) orders the rows by a column
    SORTABLE = False
    #: what the rows' own order is called (no column sorted)
    NATURAL_ORDER = "given order"
    ARROWS = {False: "▲", True: "▼"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._shown: tuple[str, ...] = ()
        self._cells: dict[str, dict[str, Any]] = {}
        self._rows: list[str] = []  # row keys in the order shown
        self._last_rows: list[tuple[str, dict[str, Any]]] = []
        self._sort_values: Mapping[str, Mapping[str, Any]] = {}
        self.sort_column: Optional[str] = None  # None: the order the rows are given in
        self.sort_reverse = False
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
            self.add_column(self._label(column), key=key, width=column.width)
        self._shown = shown
        self._apply(self._last_rows)
        if selected is not None:
            self.select_key(selected)

    def on_resize(self) -> None:
        self._ensure_columns()

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Offer another set of columns (verification appearing mid-run); rebuilt now if what fits changes."""
        columns = tuple(columns)
        if columns == tuple(self.COLUMNS):
            return
        self.COLUMNS = columns
        if self._shown:
            self._ensure_columns()

    def _label(self, column: Column) -> Text:
        """The header; the sorted column's carries an arrow (in place of its last letter when it is full)."""
        if column.key != self.sort_column:
            return Text(column.label, style="bold")
        arrow = self.ARROWS[self.sort_reverse]
        room = max(1, column.width - 1)
        label = column.label if len(column.label) <= room else column.label[:room]
        return Text(label + arrow, style="bold")

    def _relabel(self) -> None:
        for column in self.COLUMNS:
            if column.key in self._shown:
                self.columns[column.key].label = self._label(column)
        self._update_count += 1  # the header is cached per update: render it anew
        self.refresh()

    # ------------------------------------------------------------------ sorting
    def sort_by(self, column: Optional[str], reverse: Optional[bool] = None) -> None:
        """Order the rows by ``column`` (None: the order they are given in); the same column again reverses."""
        if not self.SORTABLE:
            return
        if reverse is None:
            reverse = column == self.sort_column and column is not None and not self.sort_reverse
        self.sort_column, self.sort_reverse = column, reverse
        if self._shown:
            self._relabel()
            self._apply(self._last_rows)

    def cycle_sort(self) -> Optional[str]:
        """Sort by the next shown column, after the last one back to the given order; returns the column."""
        shown = list(self._shown) or [c.key for c in self.COLUMNS]
        if self.sort_column not in shown:
            following = shown[0]
        else:
            at = shown.index(self.sort_column)
            following = shown[at + 1] if at + 1 < len(shown) else None
        self.sort_by(following, reverse=False)
        return following

    def sort_label(self) -> str:
        """``Words ▲`` for the sorted column, or the rows' own order."""
        column = next((c for c in self.COLUMNS if c.key == self.sort_column), None)
        if column is None:
            return self.NATURAL_ORDER
        return f"{column.label} {self.ARROWS[self.sort_reverse]}"

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if self.SORTABLE and event.data_table is self:
            event.stop()
            self.sort_by(event.column_key.value)

    def _order(self, rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
        keys = [k for k, _ in rows]
        column = self.sort_column
        if column is None:
            return keys
        values = {}
        for key, cells in rows:
            given = self._sort_values.get(key, {})
            values[key] = given[column] if column in given else _plain(cells.get(column, ""))
        return sort_order(keys, values, self.sort_reverse)

    def _place(self, order: list[str]) -> None:
        """Show the rows in ``order``: DataTable.sort's own re-indexing, by row key rather than by cell."""
        self._row_locations = type(self._row_locations)({RowKey(k): i for i, k in enumerate(order)})
        self._update_count += 1
        self._rows = list(order)
        self.refresh()

    # ------------------------------------------------------------------ rows
    def sync(self, rows: Iterable[tuple[Hashable, dict[str, Any]]],
             sort_values: Optional[Mapping[Hashable, Mapping[str, Any]]] = None) -> None:
        """Make the table show ``rows``: new keys are added, gone keys removed, changed cells updated.

        ``sort_values``: per row key, what a column sorts by where its text would sort wrongly
        (numbers, fractions); other columns sort by their text.
        """
        self._last_rows = [(str(k), cells) for k, cells in rows]
        self._sort_values = {str(k): v for k, v in (sort_values or {}).items()}
        if not self._shown:
            self._ensure_columns()
            return
        self._apply(self._last_rows)

    def _apply(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        selected = self.selected_key()
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
        order = self._order(rows)
        if order != self._rows:
            self._place(order)
        if selected in wanted and self.selected_key() != selected:
            self.select_key(selected)

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
