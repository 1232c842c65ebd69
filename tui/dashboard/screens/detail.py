"""Detail views: a chapter's units, or a worker's recent units, /status fields and log tail."""

from __future__ import annotations

from typing import Any, Optional

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import RichLog, Static

from ...core.state import RunState, UnitView
from ...core.text import printable
from ...frontends.format import MISSING, format_duration, format_seconds, unit_label
from ..format import state_text
from ..protocol import LogReader
from ..status_fields import status_rows
from ..widgets.table import Column, LiveTable

__all__ = ["ChapterDetail", "WorkerDetail", "UnitsTable", "status_table"]

REFRESH = 0.25
LOG_LINES = 60


def unit_cells(u: UnitView) -> dict[str, Any]:
    workers = ", ".join(sorted(set(u.running.values()))) or ", ".join(u.workers[-2:])
    return {
        "unit": Text(unit_label(u.unit_id)),
        "state": state_text(u.state.label + (" (reused)" if u.reused else "")),
        "worker": Text(workers, overflow="ellipsis", no_wrap=True),
        "attempts": str(u.attempts),
        "chars": str(u.characters),
        "audio": format_seconds(u.audio_seconds) if u.audio_seconds else MISSING,
        "error": Text(u.last_error, style="red", overflow="ellipsis", no_wrap=True),
    }


class UnitsTable(LiveTable):
    COLUMNS = (
        Column("unit", "Unit", 9, 1),
        Column("state", "State", 11, 1),
        Column("worker", "Worker", 14, 1),
        Column("attempts", "Tries", 5, 2),
        Column("chars", "Chars", 5, 5),
        Column("audio", "Audio", 7, 2),
        Column("error", "Last error", 30, 2),
    )


class _Detail(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state
        self._version = -1

    def on_mount(self) -> None:
        self.render_state()
        self.set_interval(REFRESH, self._tick)

    def _tick(self) -> None:
        if self.state.version != self._version:
            self.render_state()

    def render_state(self) -> None:
        self._version = self.state.version


class ChapterDetail(_Detail):
    """Enter on a chapter: each of its units with state, worker, attempts, last error, audio."""

    def __init__(self, state: RunState, chapter_index: int) -> None:
        super().__init__(state)
        self.chapter_index = chapter_index

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(id="detail-title", classes="title")
            yield UnitsTable(id="units")
            yield Static("esc closes", classes="hint")

    def render_state(self) -> None:
        super().render_state()
        chapter = self.state.chapters.get(self.chapter_index)
        if chapter is None:
            return
        title = Text(f"Chapter {chapter.index + 1}: ", style="bold")
        title.append(chapter.title)
        title.append(f"  {chapter.done}/{chapter.units_total} units, {chapter.attempts} attempts, "
                     f"{format_duration(chapter.audio_seconds)} audio", style="dim")
        self.query_one("#detail-title", Static).update(title)
        units = [self.state.units[u] for u in chapter.unit_ids if u in self.state.units]
        self.query_one(UnitsTable).sync((u.unit_id, unit_cells(u)) for u in units)


#: screen width from which the /status fields are shown in two label/value pairs
WIDE = 110


def status_table(rows: list[tuple[str, str]], pairs: int = 1) -> Table:
    """The /status fields, filled down the first pair of columns, then the next."""
    table = Table(box=None, pad_edge=False, show_header=False, title="/status", title_justify="left")
    for pair in range(pairs):
        if pair:
            table.add_column(width=1)  # a wider gap between one pair and the next
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
    if not rows:
        table.add_row("", Text("no /status answer yet", style="dim"))
        return table
    height = -(-len(rows) // pairs)
    for line in range(height):
        cells: list = []
        for pair in range(pairs):
            at = pair * height + line
            label, value = rows[at] if at < len(rows) else ("", "")
            cells += ([""] if pair else []) + [label, Text(printable(value, max_chars=120))]
        table.add_row(*cells)
    return table


class WorkerDetail(_Detail):
    """Enter on a worker: its recent units, every /status field, and the end of its log."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close"), Binding("l", "reload_log", "Reload log")]

    def __init__(self, state: RunState, worker: str, log_reader: Optional[LogReader] = None) -> None:
        super().__init__(state)
        self.worker = worker
        self.log_reader = log_reader

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(id="detail-title", classes="title")
            with Horizontal(classes="detail-body"):
                yield Static(id="recent", classes="pane")
                yield Static(id="status", classes="pane")
            yield RichLog(id="worker-log", markup=False, highlight=False, wrap=False, max_lines=LOG_LINES)
            yield Static("l reloads the log · esc closes", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.action_reload_log()

    def render_state(self) -> None:
        super().render_state()
        w = self.state.workers.get(self.worker)
        if w is None:
            return
        title = Text(f"{w.name}", style="bold")
        title.append(f"  {w.host or MISSING}  ")
        title.append_text(state_text(w.state))
        if w.reason:
            title.append(f"  {w.reason}", style="dim")
        self.query_one("#detail-title", Static).update(title)
        recent = Table(box=None, pad_edge=False, header_style="bold", title="Recent units", title_justify="left")
        recent.add_column("Unit")
        recent.add_column("Result")
        recent.add_column("Audio", justify="right")
        for unit_id, outcome, seconds in reversed(w.recent):
            recent.add_row(unit_label(unit_id), state_text(outcome), format_seconds(seconds) if seconds else MISSING)
        self.query_one("#recent", Static).update(recent)
        self.query_one("#status", Static).update(status_table(status_rows(w.status), self._status_pairs()))

    def _status_pairs(self) -> int:
        """Label/value pairs side by side: two where the screen is wide enough, so every field shows."""
        return 2 if self.app.size.width >= WIDE else 1

    def action_reload_log(self) -> None:
        log = self.query_one("#worker-log", RichLog)
        if self.log_reader is None:
            log.clear()
            log.write(Text("no log is known for this worker", style="dim"))
            return
        view = self.state.workers.get(self.worker)
        if view is not None:
            self._read_log(view)

    @work(thread=True, exclusive=True, group="worker-log")
    def _read_log(self, view) -> None:
        """Reading a log may mean a file or an SSH round trip: never on the UI thread."""
        try:
            text = self.log_reader(view) if self.log_reader else None
        except Exception as exc:  # noqa: BLE001 - a log that cannot be read is shown as such
            text = f"cannot read the log: {type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._show_log, text)

    def _show_log(self, text: Optional[str]) -> None:
        log = self.query_one("#worker-log", RichLog)
        log.clear()
        if not text:
            log.write(Text("(the log is empty)", style="dim"))
            return
        for line in text.splitlines()[-LOG_LINES:]:
            log.write(Text(printable(line, max_chars=400)))
