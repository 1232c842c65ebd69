"""``e2a-tui bootstrap -i INV`` on a terminal: each host's phases live, then the recap."""

from __future__ import annotations

from typing import Awaitable, Callable, Optional

from rich.console import Group
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from ..core.state import RunState
from . import format as fmt
from .widgets.hosts import HostsTable
from .widgets.notices import NoticeLog

__all__ = ["BootstrapApp", "recap_renderable"]


def recap_renderable(state: RunState, finished: bool = False) -> Group:
    """The failed hosts' step, message and last output lines; a count of the good ones."""
    parts: list = []
    done = [h for h in state.hosts.values() if h.recap is not None]
    good = [h for h in done if h.recap.state in ("ok", "changed")]
    bad = [h for h in done if h.recap.state not in ("ok", "changed")]
    waiting = len(state.hosts) - len(done)
    head = Text()
    head.append(f"{len(good)} host(s) ready", style="bold green" if good else "dim")
    if bad:
        head.append(f", {len(bad)} failed", style="bold red")
    if waiting:
        head.append(f", {waiting} still going", style="yellow")
    parts.append(head)
    for host in bad:
        recap = host.recap
        line = Text.assemble((f"{host.name}", "bold"), ": ", fmt.state_text(recap.state))
        if recap.step:
            line.append(f" at {recap.step}")
        if recap.message:
            line.append(f": {recap.message}")
        parts.append(line)
        for out in recap.output[-5:]:
            parts.append(Text(f"    {out}", style="dim"))
    if not state.hosts and not finished:
        head.append("connecting…", style="dim")
    if finished:
        parts.append(Text("Press q to quit.", style="dim"))
    return Group(*parts)


class BootstrapApp(App[None]):
    """Renders ``state.hosts``; with ``work`` (a coroutine function) it runs the bootstrap itself."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "e2a-tui bootstrap"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("ctrl+c", "quit", "Quit", show=False, priority=True)]

    def __init__(self, state: RunState, work: Optional[Callable[[], Awaitable[list]]] = None,
                 refresh_interval: float = 0.25) -> None:
        super().__init__()
        self.state = state
        self._work = work
        self.refresh_interval = refresh_interval
        self.recaps: Optional[list] = None
        self.error = ""
        self._version = -1

    def compose(self) -> ComposeResult:
        yield Static(Text("Bootstrapping hosts", style="bold"), id="book-header")
        hosts = HostsTable(id="bootstrap-hosts")
        hosts.border_title = "Hosts"
        yield hosts
        yield Static(id="recap")
        log = NoticeLog(id="log")
        log.border_title = "Log"
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.render_state()
        self.set_interval(self.refresh_interval, self._tick)
        if self._work is not None:
            self.run_worker(self._drive(), name="bootstrap", exit_on_error=False)

    async def _drive(self) -> None:
        from ..ssh.bootstrap import BootstrapError

        try:
            self.recaps = await self._work()
        except BootstrapError as exc:
            self.error = str(exc)
            self.exit(return_code=2)
            return
        self.render_state()

    def _tick(self) -> None:
        if self.state.version != self._version:
            self.render_state()
        else:
            self.query_one(HostsTable).render_state(self.state)  # the time column moves

    def render_state(self) -> None:
        self._version = self.state.version
        self.query_one(HostsTable).render_state(self.state)
        self.query_one("#recap", Static).update(recap_renderable(self.state, self.recaps is not None))
        self.query_one(NoticeLog).render_state(self.state)

    async def action_quit(self) -> None:
        hosts = self.state.hosts.values()
        failed = any(h.recap is not None and h.recap.state not in ("ok", "changed") for h in hosts)
        unfinished = any(h.recap is None for h in hosts)
        self.exit(return_code=1 if failed or unfinished else 0)
