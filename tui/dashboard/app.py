"""The dashboard app: renders a run session's state model and sends its typed commands.

All I/O stays in the core: the app awaits ``session.run()`` in a Textual worker
(on the app's own asyncio loop, so ``send`` is called on the loop the run
lives on) and re-renders on a steady timer when ``state.version`` moved.
Widgets never fold events; they read the model.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Awaitable, Callable, Iterable, Optional, Sequence

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from ..core import commands as cmd
from ..core.outcome import ExitCode, exit_code_for
from .protocol import LogReader, SessionLike
from .screens.ask import AskScreen
from .screens.detail import ChapterDetail, WorkerDetail
from .screens.flagged import FlaggedScreen
from .screens.help import HelpScreen
from .widgets.chapters import ChaptersTable
from .widgets.hosts import HostsTable
from .widgets.notices import NoticeLog
from .widgets.overview import BookHeader, OverallProgress
from .widgets.summary import SummaryPanel
from .widgets.table import LiveTable
from .widgets.workers import WorkersTable

__all__ = ["DashboardApp"]

#: (key, action, footer label, palette help)
ACTIONS = (
    ("r", "retry", "Retry", "Retry the selected failed or quarantined chapter"),
    ("R", "requeue", "Requeue", "Requeue the selected chapter (cancel in flight, send again)"),
    ("p", "pause", "Pause", "Pause or resume dispatch"),
    ("d", "drain", "Drain", "Drain the selected worker"),
    ("u", "undrain", "Undrain", "Undrain the selected worker"),
    ("b", "rebootstrap", "Boot", "Bootstrap the selected worker's host again"),
    ("o", "sort", "Sort", "Sort the focused table by its next column"),
    ("f", "flagged", "Flagged", "List the flagged sentences (play one, speak it again)"),
    ("s", "stop", "Stop", "Finish work in flight and write the partial book"),
    ("q", "quit", "Quit", "Quit (aborts work in flight; a rerun resumes)"),
)

#: keys left out of the footer on a narrow terminal
RARE_KEYS = ("u", "b")


def _run_errors() -> tuple[type[BaseException], ...]:
    """The errors a run reports as bad input (exit 2), as the headless front end does."""
    from ..assembly.errors import AssemblyError
    from ..book.model import BookError
    from ..core.cluster import ClusterError
    from ..core.journal import JournalError
    from ..core.run import RunError

    return (BookError, RunError, ClusterError, JournalError, AssemblyError, ValueError, OSError)


class DashboardApp(App[None]):
    """``DashboardApp(session)``; ``session`` needs ``.state`` and ``.send``; with ``.run()`` the app drives it."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "e2a-tui"
    BINDINGS = [Binding(key, action, label) for key, action, label, _ in ACTIONS] + [
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, session: SessionLike, *, log_reader: Optional[LogReader] = None,
                 exit_when_done: bool = False, remote_hint: str = "", refresh_interval: float = 0.25,
                 history_interval: Optional[float] = 10.0, drive: bool = True,
                 background: Sequence[Callable[[], Awaitable[None]]] = ()) -> None:
        super().__init__()
        self.session = session
        self.state = session.state
        self.log_reader = log_reader
        self.exit_when_done = exit_when_done
        self.remote_hint = remote_hint
        self.refresh_interval = refresh_interval
        self.history_interval = history_interval
        self.drive = drive and callable(getattr(session, "run", None))
        self.background = tuple(background)  # extra coroutines for the app's lifetime (progress server)
        self.result = None
        self.error = ""
        self._version = -1
        self._quitting = False
        self._run_in_flight = False

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield BookHeader(id="book-header")
        yield OverallProgress(id="overall")
        with Vertical(id="body"):
            hosts = HostsTable(id="hosts")
            hosts.border_title = "Hosts"
            yield hosts
            workers = WorkersTable(id="workers")
            workers.border_title = "Workers"
            yield workers
            chapters = ChaptersTable(id="chapters")
            chapters.border_title = "Chapters"
            yield chapters
            summary = SummaryPanel(self.remote_hint, id="summary")
            summary.border_title = "Summary"
            yield summary
            log = NoticeLog(id="log")
            log.border_title = "Log"
            yield log
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        # the keys fit the footer at 80 columns: the compact style drops the padding around each.
        # The event's size: the app's own may still be the previous one when this runs.
        width = event.size.width
        footer = self.query_one(Footer)
        footer.compact = width < 110
        footer.show_command_palette = width >= 90  # ctrl+p still works; ? lists it
        self._show_rare_keys(width >= 100)

    def _show_rare_keys(self, shown: bool) -> None:
        """Below 100 columns the rarest keys leave the footer (they still work; ? and the palette list them).

        Textual has no public switch for a binding's footer entry; the app's own bindings map is per instance.
        """
        changed = False
        for key in RARE_KEYS:
            bindings = self._bindings.key_to_bindings.get(key, [])
            if any(b.show != shown for b in bindings):
                self._bindings.key_to_bindings[key] = [replace(b, show=shown) for b in bindings]
                changed = True
        if changed:
            self.refresh_bindings()

    def on_mount(self) -> None:
        self.render_state()
        self.set_interval(self.refresh_interval, self._tick)
        if self.history_interval:
            self.set_interval(self.history_interval, self.state.sample_history)
        self.query_one(ChaptersTable).focus()
        for make in self.background:
            self.run_worker(make(), group="background", exit_on_error=False)
        if self.drive:
            self._run_in_flight = True
            # a bug (not a bad input) in the run still ends the app, with its traceback
            self.run_worker(self._drive(), name="run-session", group="run", exit_on_error=True)

    async def _drive(self) -> None:
        """The run itself; its end shows the summary (and exits with ``--exit-when-done`` or after quit)."""
        try:
            self.result = await self.session.run()
        except _run_errors() as exc:
            self._run_in_flight = False
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.exit(return_code=ExitCode.BAD_INPUT)
            return
        self._run_in_flight = False
        self.render_state()
        if self._quitting or self.exit_when_done:
            self.exit(return_code=exit_code_for(self.result))

    def _tick(self) -> None:
        try:
            if self.state.version != self._version:
                self.render_state()
            else:  # nothing new: only the clock-driven numbers move
                self.query_one(OverallProgress).render_state(self.state)
        except NoMatches:  # the app is closing
            pass

    def render_state(self) -> None:
        state = self.state
        version = state.version
        now = time.monotonic()
        self.query_one(BookHeader).render_state(state)
        self.query_one(OverallProgress).render_state(state)
        hosts = self.query_one(HostsTable)
        if hosts.display != bool(state.hosts):  # assigning display (even unchanged) costs a layout pass
            hosts.display = bool(state.hosts)
        tables: list = [hosts] if state.hosts else []
        tables += [self.query_one(WorkersTable), self.query_one(ChaptersTable)]
        behind = False
        for table in tables:
            if table.due(now, self.refresh_interval):
                table.render_state(state)
            else:
                behind = True
        self.query_one(SummaryPanel).render_state(state)
        self.query_one(NoticeLog).render_state(state)
        self._version = -1 if behind else version  # a table left for later is rendered at a later tick

    # ------------------------------------------------------------------ selection
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        if isinstance(event.data_table, ChaptersTable):
            self.push_screen(ChapterDetail(self.state, int(key)))
        elif isinstance(event.data_table, WorkersTable):
            self.push_screen(WorkerDetail(self.state, key, self.log_reader))

    def selected_chapter(self) -> Optional[int]:
        return self.query_one(ChaptersTable).selected_chapter()

    def selected_worker(self) -> Optional[str]:
        return self.query_one(WorkersTable).selected_key()

    # ------------------------------------------------------------------ commands
    @property
    def finished(self) -> bool:
        return self.state.overall.result is not None

    def _over(self) -> bool:
        """After the run has ended no command can reach it: say so instead of sending."""
        if self.finished:
            self.notify("The run is over; rerun the same command to retry (finished units are reused).",
                        severity="warning")
        return self.finished

    def _send(self, command: cmd.Command) -> bool:
        if self._over():
            return False
        self.session.send(command)
        return True

    def action_retry(self) -> None:
        index = self.selected_chapter()
        if index is None:
            return
        chapter = self.state.chapters[index]
        if not (chapter.failed or chapter.quarantined):
            self.notify(f"Chapter {index + 1} has no failed units to retry.")
            return
        if self._send(cmd.RetryChapter(index)):
            self.notify(f"Chapter {index + 1}: failed units sent again.")

    def action_requeue(self) -> None:
        index = self.selected_chapter()
        if index is None or self._over():
            return
        chapter = self.state.chapters[index]

        def answered(choice: Optional[str]) -> None:
            if choice in ("keep", "redo"):
                self._send(cmd.RequeueChapter(index, redo=choice == "redo"))

        if not chapter.done:
            answered("keep")
            return
        self.push_screen(AskScreen(
            f"Requeue chapter {index + 1} ({chapter.title})? Work in flight is cancelled and sent again.\n"
            f"{chapter.done} of its {chapter.units_total} units are finished: redo them too?",
            [("n", "keep", "keep finished units"), ("y", "redo", "redo them")]), answered)

    def action_pause(self) -> None:
        self._send(cmd.Resume() if self.state.overall.paused else cmd.Pause())

    def _worker_command(self, make) -> None:
        name = self.selected_worker()
        if name is None:
            self.notify("No worker selected.")
            return
        self._send(make(name))

    def action_drain(self) -> None:
        self._worker_command(cmd.Drain)

    def action_undrain(self) -> None:
        self._worker_command(cmd.Undrain)

    def action_rebootstrap(self) -> None:
        name = self.selected_worker()
        if name is None:
            self.notify("No worker selected.")
            return
        host = self.state.workers[name].host or name
        if self._send(cmd.Rebootstrap(host)):
            self.notify(f"Bootstrapping {host} again.")

    def action_stop(self) -> None:
        if self._send(cmd.Stop()):
            self.notify("Stopping: work in flight finishes, then the partial book is written.")

    def action_sort(self) -> None:
        """The focused Workers or Chapters table (Chapters otherwise) sorts by its next column."""
        focused = self.focused
        table = focused if isinstance(focused, LiveTable) and focused.SORTABLE else self.query_one(ChaptersTable)
        table.cycle_sort()
        self.notify(f"{table.border_title}: {table.sort_label()}", timeout=2)

    def action_flagged(self) -> None:
        self.push_screen(FlaggedScreen(self.state, self.session.send))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.finished or self.error:
            self.exit(return_code=exit_code_for(self.state.overall.result) if self.finished else ExitCode.BAD_INPUT)
            return
        if self._quitting:
            return

        def answered(choice: Optional[str]) -> None:
            if choice != "quit":
                return
            self._quitting = True
            self.session.send(cmd.Abort())
            self.notify("Aborting: finished units are kept; rerun the same command to resume.")
            if not self._run_in_flight:  # a stand-in session with no run to wait for
                self.exit(return_code=ExitCode.INTERRUPTED)

        self.push_screen(AskScreen("Work is in flight. Quit now? Units in flight are cancelled; every finished "
                                   "unit is kept in the journal and a rerun resumes.",
                                   [("y", "quit", "quit"), ("n", "stay", "keep running")]), answered)

    # ------------------------------------------------------------------ palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, action, _, text in ACTIONS:
            yield SystemCommand(f"{text} ({key})", text, getattr(self, f"action_{action}"))
        yield SystemCommand("Keys (?)", "Show every key", self.action_help)
