"""What each command does to a running conversion (pause, retry, requeue, drain, bootstrap again, stop…).

The list of things a person can ask of a run, one handler each. Handlers call
public methods of the run's parts (scheduler, attempts, journal, audio ledger,
segment pipeline, workers, supervision); they run on the event loop once the
scheduler exists. A command naming a chapter, unit, worker or host that is not
in the run publishes a ``Notice``.
"""

from __future__ import annotations

from typing import Callable

from ..book.model import WorkUnit
from . import commands as cmd
from . import events as ev
from .attempts import AttemptRunner
from .control import RunControl
from .encoding import SegmentPipeline
from .journal_io import JournalIO
from .ledger import AudioLedger
from .scheduler import Scheduler, UnitState, WorkerState
from .supervision import Supervisor
from .workers import WorkerPool

__all__ = ["CommandHandlers"]


class CommandHandlers:
    """``handlers.apply(command)``: perform one command now."""

    def __init__(self, *, units: list[WorkUnit], sched: Scheduler, attempts: AttemptRunner, journal: JournalIO,
                 ledger: AudioLedger, pipeline: SegmentPipeline, pool: WorkerPool, supervisor: Supervisor,
                 control: RunControl, publish: Callable[[ev.Event], None]) -> None:
        self.units = units
        self.units_by_id = {u.id: u for u in units}
        self.sched = sched
        self.attempts = attempts
        self.journal = journal
        self.ledger = ledger
        self.pipeline = pipeline
        self.pool = pool
        self.supervisor = supervisor
        self.control = control
        self.publish = publish
        self._handlers: dict[type, Callable] = {
            cmd.Pause: self._pause, cmd.Resume: self._resume, cmd.RetryChapter: self._retry_chapter,
            cmd.RequeueChapter: self._requeue_chapter, cmd.RequeueUnit: self._requeue_unit,
            cmd.RetryUnit: self._retry_unit, cmd.Drain: self._drain,
            cmd.Undrain: self._undrain, cmd.Rebootstrap: self._rebootstrap, cmd.Stop: self._stop,
            cmd.Abort: self._abort,
        }

    def apply(self, command: cmd.Command) -> None:
        """Perform one command now; an unknown target gives a Notice."""
        self._handlers[type(command)](command)
        self.control.kick()

    def _notice(self, level: str, message: str) -> None:
        self.publish(ev.Notice(level, message))

    def _pause(self, _: cmd.Pause) -> None:
        if not self.sched.paused:
            self.sched.pause()
            self.publish(ev.DispatchChanged(True))
            self._notice("info", "dispatch paused: work in flight finishes, nothing new is sent")

    def _resume(self, _: cmd.Resume) -> None:
        if self.control.stopping:
            self._notice("warning", "stopping: dispatch stays off")
            return
        if self.sched.paused:
            self.sched.resume()
            self.publish(ev.DispatchChanged(False))
            self._notice("info", "dispatch resumed")

    def _chapter_units(self, index: int) -> list[WorkUnit]:
        """The chapter's units; none (and a Notice) when the run has no such chapter."""
        units = [u for u in self.units if u.chapter_index == index]
        if not units:
            self._notice("warning", f"no chapter {index + 1} in this run")
        return units

    def _retry_chapter(self, c: cmd.RetryChapter) -> None:
        units = self._chapter_units(c.chapter_index)
        if not units:
            return
        ids = tuple(u.id for u in units
                    if self.sched.unit_state(u.id) in (UnitState.QUARANTINED, UnitState.FAILED_WAIT))
        if not ids:
            self._notice("info", f"chapter {c.chapter_index + 1} has no failed units to retry")
            return
        self.sched.retry_chapter(c.chapter_index)
        for uid in ids:
            self.journal.set_unit_state(uid, UnitState.PENDING)
        self.publish(ev.ChapterReopened(c.chapter_index, ids))
        self._notice("info", f"chapter {c.chapter_index + 1}: {len(ids)} failed unit(s) sent again")

    def _requeue_chapter(self, c: cmd.RequeueChapter) -> None:
        units = self._chapter_units(c.chapter_index)
        if not units:
            return
        ids = tuple(u.id for u in units if c.redo or self.sched.unit_state(u.id) is not UnitState.DONE)
        cancelled = self.sched.requeue_chapter(c.chapter_index, redo=c.redo)
        self.attempts.cancel(cancelled, "requeued")
        if c.redo:
            self.ledger.drop(units)  # redone units count as left again
            self.pipeline.reset(c.chapter_index)
        self.publish(ev.ChapterReopened(c.chapter_index, ids, redo=c.redo))
        self._notice("info", f"chapter {c.chapter_index + 1} requeued: {len(ids)} unit(s), "
                             f"{len(cancelled)} in flight cancelled" + (", finished units redone" if c.redo else ""))

    def _requeue_unit(self, c: cmd.RequeueUnit) -> None:
        unit = self.units_by_id.get(c.unit_id)
        if unit is None:
            self._notice("warning", f"no unit {c.unit_id} in this run")
            return
        cancelled = self.sched.requeue_units([unit.id], redo=c.redo)
        self.attempts.cancel(cancelled, "requeued")
        if c.redo:
            self.ledger.drop([unit])
            self.pipeline.reset(unit.chapter_index)
        self.publish(ev.ChapterReopened(unit.chapter_index, (unit.id,), redo=c.redo))
        self._notice("info", f"unit {unit.id} sent again" + (" for new takes" if c.redo else ""))

    def _retry_unit(self, c: cmd.RetryUnit) -> None:
        unit = self.units_by_id.get(c.unit_id)
        if unit is None:
            self._notice("warning", f"no unit {c.unit_id} in this run")
            return
        if not self.sched.retry_unit(c.unit_id):
            self._notice("info", f"unit {c.unit_id} is not failed; nothing to retry")
            return
        self.journal.set_unit_state(c.unit_id, UnitState.PENDING)
        self.publish(ev.ChapterReopened(unit.chapter_index, (c.unit_id,)))

    def _worker_ok(self, name: str) -> bool:
        if self.pool.knows(name):
            return True
        self._notice("warning", f"no worker {name} in this run")
        return False

    def _drain(self, c: cmd.Drain) -> None:
        if self._worker_ok(c.worker):
            self.sched.drain(c.worker)
            self.publish(ev.WorkerStateChanged(c.worker, "draining", self.pool.host_of(c.worker)))

    def _undrain(self, c: cmd.Undrain) -> None:
        if self._worker_ok(c.worker):
            self.sched.undrain(c.worker)
            state = "down" if self.sched.worker_state(c.worker) is WorkerState.DOWN else "up"
            self.publish(ev.WorkerStateChanged(c.worker, state, self.pool.host_of(c.worker)))

    def _rebootstrap(self, c: cmd.Rebootstrap) -> None:
        if not self.supervisor.can_rebootstrap:
            self._notice("warning", f"workers from this source cannot be bootstrapped again ({c.host})")
        elif not self.supervisor.knows_host(c.host):
            self._notice("warning", f"no host {c.host} in this run")
        else:
            self.supervisor.rebootstrap(c.host)

    def _stop(self, _: cmd.Stop) -> None:
        if self.control.stopping:
            return
        self.control.stopping = True
        self.sched.pause()
        self.publish(ev.DispatchChanged(True))
        self.publish(ev.RunPhase("stopping", "finishing work in flight, then writing a partial book"))
        self._notice("info", "stopping: finishing work in flight, then writing the partial book")

    def _abort(self, _: cmd.Abort) -> None:
        self.control.aborting = True
        self.sched.pause()
        self.attempts.cancel_all("aborted")
