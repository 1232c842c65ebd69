"""The run session: the one object every front end drives a conversion through.

It exists before any worker starts and lives until the book is written. It
owns the event bus, the state model folded from it, and a command inbox.
Commands sent before the scheduler exists (pause while hosts bootstrap, say)
are kept and applied the moment it does, before anything is dispatched; an
abort during start-up stops the start-up itself.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Callable, Optional

from . import commands as cmd
from . import events as ev
from .cluster import WorkerSource
from .options import RunOptions
from .outcome import Outcome
from .run import BookRun
from .state import RunState

__all__ = ["RunSession", "run_book"]


class RunSession:
    """``session = RunSession(options, source)``; front ends read ``session.state``, call
    ``session.send(command)``, and ``await session.run()`` returns the :class:`RunFinished`."""

    def __init__(self, options: RunOptions, source: WorkerSource, *, bus: Optional[ev.EventBus] = None,
                 state: Optional[RunState] = None) -> None:
        self.bus = bus or ev.EventBus()
        self.state = state or RunState()
        self.bus.subscribe(self.state.apply)
        self.run_driver = BookRun(options, source, self.bus)  # validates options: RunError on bad ones
        self.options = options
        self._pending: list[cmd.Command] = []
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task] = None
        self._aborted = False
        self._owner = threading.get_ident()
        self.result: Optional[ev.RunFinished] = None

    @property
    def output(self):
        return self.run_driver.output

    def subscribe(self, callback: Callable[[ev.Event], None]) -> Callable[[], None]:
        return self.bus.subscribe(callback)

    # ------------------------------------------------------------------ commands in
    def send(self, command: cmd.Command) -> None:
        """Apply ``command`` as soon as possible; safe to call from any thread, at any moment."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._owner and loop.is_running():
            loop.call_soon_threadsafe(self._receive, command)
        else:
            self._receive(command)

    def _receive(self, command: cmd.Command) -> None:
        driver = self.run_driver
        if driver.ready_for_commands:
            try:
                driver.apply(command)
            except Exception as exc:  # noqa: BLE001 - a command must never break the run
                self.bus.publish(ev.Notice("error", f"{type(command).__name__} failed: {type(exc).__name__}: {exc}"))
            return
        if isinstance(command, cmd.Abort) and self._task is not None and not self._task.done():
            # nothing is dispatched yet: stop the start-up (bootstrap, worker start) itself
            self._aborted = True
            self._task.cancel()
            return
        self._pending.append(command)
        self.bus.publish(ev.Notice("info", f"{_describe(command)}: applied once the workers are up"))
        if isinstance(command, (cmd.Pause, cmd.Resume)):
            self.bus.publish(ev.DispatchChanged(self._paused_after_pending()))

    def _paused_after_pending(self) -> bool:
        paused = False
        for command in self._pending:
            if isinstance(command, cmd.Pause):
                paused = True
            elif isinstance(command, cmd.Resume):
                paused = False
        return paused

    def _apply_pending(self) -> None:
        pending, self._pending = self._pending, []
        for command in pending:
            self._receive(command)

    # ------------------------------------------------------------------ the run
    async def run(self) -> ev.RunFinished:
        """Run the conversion to its end (complete, partial, stopped or aborted)."""
        self._loop = asyncio.get_running_loop()
        self._owner = threading.get_ident()
        self._task = asyncio.ensure_future(self.run_driver.run(on_ready=self._apply_pending))
        try:
            self.result = await self._task
        except asyncio.CancelledError:
            if not self._aborted:
                raise
            self.result = ev.RunFinished.nothing_done(Outcome.ABORTED, "aborted while workers were starting")
            ev.publish_finished(self.bus, self.result)
        return self.result


def _describe(command: cmd.Command) -> str:
    name = type(command).__name__.lower()
    fields = ", ".join(str(v) for v in vars(command).values()) if vars(command) else ""
    return f"{name} {fields}".strip()


async def run_book(options: RunOptions, source: WorkerSource, *, bus: Optional[ev.EventBus] = None) -> ev.RunFinished:
    """A :class:`RunSession` run to the end (for scripts, tests and benches)."""
    return await RunSession(options, source, bus=bus).run()
