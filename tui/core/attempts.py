"""One attempt at one unit on one worker, and what each way of ending means to the scheduler.

Every attempt started here ends with exactly one attempt-ending event
(done, failed, busy, cancelled or lost) and one journal row update, however it
ends: a result, a client error, a cancel from the driver, or a cancel that
lands before the attempt's first step. The mapping from client errors to
scheduler calls lives in one place, :meth:`AttemptRunner._on_error`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from ..book.model import WorkUnit
from . import events as ev
from .client import (
    SynthesisSettings,
    UnitFailed,
    UnitRejected,
    VoiceError,
    WorkerAuthError,
    WorkerBusy,
    WorkerUnreachable,
)
from .checks import SentenceCheck
from .control import RunControl
from .journal import JournalError, StoredAudio
from .journal_io import JournalIO
from .scheduler import Assignment, Scheduler, UnitState, WorkerState
from .stats import RunStats
from .tasks import TaskGroup
from .workers import WorkerPool

__all__ = ["AttemptRunner"]


@dataclass
class _Live:
    assignment: Assignment
    unit: WorkUnit
    row: Future
    task: Optional["asyncio.Task[None]"] = None


class AttemptRunner:
    """Starts attempts as tasks, cancels them with a reason, and ends each one exactly once."""

    def __init__(self, sched: Scheduler, journal: JournalIO, pool: WorkerPool, publish: Callable[[ev.Event], None],
                 stats: RunStats, control: RunControl, tasks: TaskGroup, *,
                 settings_for: Callable[[WorkUnit], SynthesisSettings],
                 on_stored: Callable[[WorkUnit, StoredAudio], None]) -> None:
        """``settings_for``: the request settings of a unit; ``on_stored``: its audio is verified and kept."""
        self.sched = sched
        self.journal = journal
        self.pool = pool
        self.publish = publish
        self.stats = stats
        self.control = control
        self.tasks = tasks  # cancel requests on their way to workers
        self.settings_for = settings_for
        self.on_stored = on_stored
        self._live: dict[int, _Live] = {}
        self._cancel_reason: dict[int, tuple[str, bool]] = {}  # attempt id -> (reason, lost)

    # ------------------------------------------------------------------ driver side

    def __len__(self) -> int:
        return len(self._live)

    def start(self, a: Assignment, unit: WorkUnit) -> None:
        row = self.journal.attempt_started(unit, a.worker_id, speculative=a.speculative)
        live = _Live(a, unit, row)
        self._live[a.attempt_id] = live
        self.publish(ev.UnitStarted(a.attempt_id, unit.id, unit.chapter_index, a.worker_id,
                                    self.sched.unit_attempts(unit.id), a.speculative))
        live.task = asyncio.ensure_future(self._run(live))
        live.task.add_done_callback(lambda _t, aid=a.attempt_id: self._task_done(aid))

    def cancel(self, assignments: Iterable[Assignment], reason: str, *, lost: bool = False) -> None:
        """Cancel these attempts; each ends with AttemptCancelled (or AttemptLost) carrying ``reason``."""
        for a in assignments:
            live = self._live.get(a.attempt_id)
            if live is None or live.task is None or live.task.done():
                continue
            self._cancel_reason.setdefault(a.attempt_id, (reason, lost))
            live.task.cancel()
            if not lost and a.worker_id in self.pool.clients:
                # dropping the connection stops the worker too; the explicit request is faster through forwards
                self.tasks.spawn(self.pool.clients[a.worker_id].cancel(a.unit_id, a.attempt_id),
                                 name=f"cancel-{a.unit_id}")

    def cancel_all(self, reason: str) -> None:
        self.cancel([live.assignment for live in self._live.values()], reason)

    async def wait_all(self) -> None:
        tasks = [live.task for live in self._live.values() if live.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def requeued(self, assignments: Iterable[Assignment], reason: str) -> None:
        """Announce the units of ``assignments`` that the scheduler put back in the queue."""
        for a in assignments:
            if self.sched.unit_state(a.unit_id) is UnitState.PENDING:
                info = self.sched.unit_info(a.unit_id)
                self.publish(ev.UnitRequeued(a.unit_id, info.chapter_index, reason))

    def worker_lost(self, worker: str, reason: str, *, except_attempt: Optional[int] = None) -> None:
        """Mark the worker down; its other attempts end as lost and their units go back to the queue."""
        if self.sched.worker_state(worker) is WorkerState.DOWN:
            return
        released = self.sched.worker_lost(worker, asyncio.get_running_loop().time())
        self.cancel([x for x in released if x.attempt_id != except_attempt], reason, lost=True)
        self.requeued(released, f"{worker} lost")
        self.publish(ev.WorkerStateChanged(worker, "down", self.pool.host_of(worker), reason))

    # ------------------------------------------------------------------ ending, exactly once

    def _end(self, aid: int, event: ev.Event, journal_status: str, error: Optional[str] = None) -> None:
        live = self._live.pop(aid, None)
        if live is None:
            return
        self._cancel_reason.pop(aid, None)
        self.journal.attempt_ended(live.row, journal_status, error)
        self.publish(event)
        self.control.kick()

    def _end_cancelled(self, live: _Live) -> None:
        a, unit = live.assignment, live.unit
        reason, lost = self._cancel_reason.get(a.attempt_id, ("cancelled", False))
        self.sched.on_cancelled(a.attempt_id)
        if lost:
            self._end(a.attempt_id, ev.AttemptLost(a.attempt_id, unit.id, unit.chapter_index, a.worker_id, reason),
                      "lost", reason)
        else:
            self._end(a.attempt_id, ev.AttemptCancelled(a.attempt_id, unit.id, unit.chapter_index, a.worker_id,
                                                        reason), "cancelled", reason)

    def _task_done(self, aid: int) -> None:
        """A task cancelled before its first step never ran its own handlers: end it here."""
        live = self._live.get(aid)
        if live is not None:
            self._end_cancelled(live)

    # ------------------------------------------------------------------ the attempt

    async def _run(self, live: _Live) -> None:
        a, unit = live.assignment, live.unit
        client = self.pool.clients[a.worker_id]
        try:
            await self.pool.prepare(a.worker_id)
            result = await client.synthesize(unit, self.settings_for(unit), a.attempt_id)
            if self.sched.unit_state(unit.id) is UnitState.DONE:
                self.sched.on_cancelled(a.attempt_id)
                self._end(a.attempt_id, ev.AttemptCancelled(a.attempt_id, unit.id, unit.chapter_index, a.worker_id,
                                                            "duplicate: another copy finished first"), "discarded")
                return
            stored = await self.journal.store_audio(
                unit, result.audio, sha256=result.response.sha256, fmt=result.response.format,
                worker=a.worker_id, timings=[(t.start, t.end) for t in result.response.sentence_timings],
                checks=[SentenceCheck.from_wire(c) for c in result.response.checks or ()],
            )
        except asyncio.CancelledError:
            self._end_cancelled(live)
            raise
        except Exception as exc:  # noqa: BLE001 - every way of failing is mapped in _on_error
            self._on_error(live, exc)
            return
        loop = asyncio.get_running_loop()
        losers = self.sched.on_success(a.attempt_id, loop.time(), audio_seconds=stored.duration)
        if self.sched.unit_state(unit.id) is not UnitState.DONE:
            # superseded: the chapter was requeued with redo while this copy ran
            self._end(a.attempt_id, ev.AttemptCancelled(a.attempt_id, unit.id, unit.chapter_index, a.worker_id,
                                                        "superseded by a redo"), "discarded")
            return
        self.cancel(losers, "duplicate: another copy finished first")
        self.stats.unit_done(a.worker_id, stored.duration, result.wall_seconds)
        self.on_stored(unit, stored)
        self._end(a.attempt_id, ev.UnitDone(a.attempt_id, unit.id, unit.chapter_index, a.worker_id, stored.duration,
                                            result.wall_seconds, unit.chars, self.sched.worker_speed(a.worker_id)),
                  "done")

    def _on_error(self, live: _Live, exc: Exception) -> None:
        """The one place where a failed attempt becomes scheduler calls, events and journal rows."""
        a, unit = live.assignment, live.unit
        aid, worker = a.attempt_id, a.worker_id
        now = asyncio.get_running_loop().time()
        error = str(exc) or type(exc).__name__
        if isinstance(exc, WorkerUnreachable):
            # the worker is gone: this and its other attempts are lost, their units go back at once
            self.worker_lost(worker, error, except_attempt=aid)
            self.sched.on_cancelled(aid)
            self._end(aid, ev.AttemptLost(aid, unit.id, unit.chapter_index, worker, error), "lost", error)
        elif isinstance(exc, WorkerAuthError):
            # our token is wrong there: leave the worker out (which requeues this unit too)
            self._end(aid, ev.AttemptFailed(aid, unit.id, unit.chapter_index, worker, error), "failed", error)
            self.pool.exclude(worker, error)
            self.sched.on_cancelled(aid)
        elif isinstance(exc, WorkerBusy):
            self.sched.on_busy(aid, now)
            self._end(aid, ev.AttemptBusy(aid, unit.id, unit.chapter_index, worker), "busy", error)
        elif isinstance(exc, VoiceError):
            # the voice sample itself was refused: every unit would fail the same way
            self.sched.on_returned(aid)
            self._end(aid, ev.AttemptFailed(aid, unit.id, unit.chapter_index, worker, error), "failed", error)
            self.requeued([a], "voice refused")
            self.control.fail(error)
        elif isinstance(exc, (OSError, sqlite3.Error)):
            # our own disk or journal: every unit would fail the same way, so stop cleanly
            self.sched.on_returned(aid)
            self._end(aid, ev.AttemptFailed(aid, unit.id, unit.chapter_index, worker, f"not stored: {error}"),
                      "failed", error)
            self.requeued([a], "not stored")
            self.control.fail(f"cannot keep audio: {error}", local_storage=True)
        else:
            known = isinstance(exc, (UnitFailed, UnitRejected, JournalError))
            if not known:
                error = f"{type(exc).__name__}: {exc}"
            was_down = self.sched.worker_state(worker) is WorkerState.DOWN
            released = self.sched.on_failure(aid, now, error=error,
                                             worker_fault=known and not isinstance(exc, UnitRejected))
            quarantined = self.sched.unit_state(unit.id) is UnitState.QUARANTINED
            if quarantined:
                self.journal.set_unit_state(unit.id, UnitState.QUARANTINED, error)
            self._end(aid, ev.AttemptFailed(aid, unit.id, unit.chapter_index, worker, error, quarantined),
                      "failed", error)
            if released or (not was_down and self.sched.worker_state(worker) is WorkerState.DOWN):
                self.cancel(released, f"{worker} down after repeated failures", lost=True)
                self.requeued(released, f"{worker} down")
                self.publish(ev.WorkerStateChanged(worker, "down", self.pool.host_of(worker), "repeated failures"))
