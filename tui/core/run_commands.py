"""What each command does to a running conversion (pause, retry, requeue, drain, bootstrap again, stop…).

A mixin of :class:`~tui.core.run.BookRun`, kept apart so the run driver reads
as the run and this file as the list of things a person can ask of it. Every
handler runs on the event loop, once the scheduler exists; a command naming a
chapter, unit, worker or host that is not in the run publishes a ``Notice``.
It also restarts dead workers on its own (the same path as the ``b`` key).
"""

from __future__ import annotations

import asyncio
from typing import Callable

from . import commands as cmd
from . import events as ev
from .cluster import ClusterError
from .scheduler import UnitState, WorkerState

__all__ = ["RunCommands"]


class RunCommands:
    """Command handlers; the attributes they use are BookRun's (scheduler, attempts, plan, journal, bus…)."""

    @property
    def ready_for_commands(self) -> bool:
        return self.sched is not None and self.attempts is not None

    def apply(self, command: cmd.Command) -> None:
        """Perform one command now (the scheduler exists); an unknown target gives a Notice."""
        assert self.sched is not None and self.attempts is not None
        handler: Callable = {
            cmd.Pause: self._pause, cmd.Resume: self._resume, cmd.RetryChapter: self._retry_chapter,
            cmd.RequeueChapter: self._requeue_chapter, cmd.RetryUnit: self._retry_unit, cmd.Drain: self._drain,
            cmd.Undrain: self._undrain, cmd.Rebootstrap: self._rebootstrap, cmd.Stop: self._stop,
            cmd.Abort: self._abort,
        }[type(command)]
        handler(command)
        self._kick.set()

    def _notice(self, level: str, message: str) -> None:
        self.bus.publish(ev.Notice(level, message))

    def _pause(self, _: cmd.Pause) -> None:
        if not self.sched.paused:
            self.sched.pause()
            self.bus.publish(ev.DispatchChanged(True))
            self._notice("info", "dispatch paused: work in flight finishes, nothing new is sent")

    def _resume(self, _: cmd.Resume) -> None:
        if self._stopping:
            self._notice("warning", "stopping: dispatch stays off")
            return
        if self.sched.paused:
            self.sched.resume()
            self.bus.publish(ev.DispatchChanged(False))
            self._notice("info", "dispatch resumed")

    def _chapter_ok(self, index: int) -> bool:
        assert self.plan is not None
        if any(u.chapter_index == index for u in self.plan.units):
            return True
        self._notice("warning", f"no chapter {index + 1} in this run")
        return False

    def _retry_chapter(self, c: cmd.RetryChapter) -> None:
        if not self._chapter_ok(c.chapter_index):
            return
        ids = tuple(u.id for u in self.plan.units if u.chapter_index == c.chapter_index
                    and self.sched.unit_state(u.id) in (UnitState.QUARANTINED, UnitState.FAILED_WAIT))
        if not ids:
            self._notice("info", f"chapter {c.chapter_index + 1} has no failed units to retry")
            return
        self.sched.retry_chapter(c.chapter_index)
        for uid in ids:
            self.journal.set_unit_state(uid, "pending")
        self.bus.publish(ev.ChapterReopened(c.chapter_index, ids))
        self._notice("info", f"chapter {c.chapter_index + 1}: {len(ids)} failed unit(s) sent again")

    def _requeue_chapter(self, c: cmd.RequeueChapter) -> None:
        if not self._chapter_ok(c.chapter_index):
            return
        chapter_units = [u for u in self.plan.units if u.chapter_index == c.chapter_index]
        ids = tuple(u.id for u in chapter_units if c.redo or self.sched.unit_state(u.id) is not UnitState.DONE)
        cancelled = self.sched.requeue_chapter(c.chapter_index, redo=c.redo)
        self.attempts.cancel(cancelled, "requeued")
        if c.redo:
            for unit in chapter_units:
                self.audio.pop(unit.id, None)
            self._left = None  # redone units count as left again
            self.pipeline.reset(c.chapter_index)
        self.bus.publish(ev.ChapterReopened(c.chapter_index, ids, redo=c.redo))
        self._notice("info", f"chapter {c.chapter_index + 1} requeued: {len(ids)} unit(s), "
                             f"{len(cancelled)} in flight cancelled" + (", finished units redone" if c.redo else ""))

    def _retry_unit(self, c: cmd.RetryUnit) -> None:
        if c.unit_id not in self.units_by_id:
            self._notice("warning", f"no unit {c.unit_id} in this run")
            return
        if not self.sched.retry_unit(c.unit_id):
            self._notice("info", f"unit {c.unit_id} is not failed; nothing to retry")
            return
        unit = self.units_by_id[c.unit_id]
        self.journal.set_unit_state(c.unit_id, "pending")
        self.bus.publish(ev.ChapterReopened(unit.chapter_index, (c.unit_id,)))

    def _worker_ok(self, name: str) -> bool:
        if name in self.endpoints and name in self.sched.workers():
            return True
        self._notice("warning", f"no worker {name} in this run")
        return False

    def _drain(self, c: cmd.Drain) -> None:
        if self._worker_ok(c.worker):
            self.sched.drain(c.worker)
            self.bus.publish(ev.WorkerStateChanged(c.worker, "draining", self.endpoints[c.worker].host))

    def _undrain(self, c: cmd.Undrain) -> None:
        if self._worker_ok(c.worker):
            self.sched.undrain(c.worker)
            state = "down" if self.sched.worker_state(c.worker) is WorkerState.DOWN else "up"
            self.bus.publish(ev.WorkerStateChanged(c.worker, state, self.endpoints[c.worker].host))

    def _rebootstrap(self, c: cmd.Rebootstrap) -> None:
        hosts = {ep.host for ep in self.endpoints.values()}
        rebootstrap = getattr(self.cluster, "rebootstrap", None)
        if rebootstrap is None:
            self._notice("warning", f"workers from this source cannot be bootstrapped again ({c.host})")
            return
        if c.host not in hosts and c.host not in getattr(self.cluster, "host_names", ()):
            self._notice("warning", f"no host {c.host} in this run")
            return
        self._start_rebootstrap(c.host, rebootstrap)

    def _start_rebootstrap(self, host: str, rebootstrap, *, auto: bool = False) -> None:
        if host in self._rebootstrapping:
            return
        self._rebootstrapping.add(host)
        task = asyncio.ensure_future(self._do_rebootstrap(host, rebootstrap, auto=auto))
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _do_rebootstrap(self, host: str, rebootstrap, *, auto: bool = False) -> None:
        if not auto:
            self._notice("info", f"bootstrapping {host} again")
        try:
            endpoints = await rebootstrap(host)
        except ClusterError as exc:
            self._notice("warning" if auto else "error", f"{host}: {exc}")
            return
        finally:
            self._rebootstrapping.discard(host)
            self._last_rebootstrap[host] = asyncio.get_running_loop().time()
        for ep in endpoints:
            await self._add_endpoint(ep)
        if endpoints:
            self._notice("info", f"{host}: {', '.join(ep.name for ep in endpoints)} started again"
                         + (" (it had stopped answering)" if auto else ""))
        self._kick.set()

    def _maybe_restart(self, worker: str) -> None:
        """A worker that failed two probes in a row on a host we still reach has died (crashed, OOM-killed,
        host rebooted): bring it back without the user's help, at most once a minute per host."""
        self._probe_failures[worker] = self._probe_failures.get(worker, 0) + 1
        rebootstrap = getattr(self.cluster, "rebootstrap", None)
        host = self._host_of(worker)
        if rebootstrap is None or self._probe_failures[worker] < 2 or worker in self._excluded:
            return
        connected = getattr(self.cluster, "is_connected", None)
        if connected is not None and not connected(host):
            return  # the link is down: the cluster reconnects (and bootstraps) on its own
        last = self._last_rebootstrap.get(host)
        if last is not None and asyncio.get_running_loop().time() - last < 60.0:
            return
        self._start_rebootstrap(host, rebootstrap, auto=True)

    def _stop(self, _: cmd.Stop) -> None:
        if self._stopping:
            return
        self._stopping = True
        self.sched.pause()
        self.bus.publish(ev.DispatchChanged(True))
        self.bus.publish(ev.RunPhase("stopping", "finishing work in flight, then writing a partial book"))
        self._notice("info", "stopping: finishing work in flight, then writing the partial book")

    def _abort(self, _: cmd.Abort) -> None:
        self._aborting = True
        self.sched.pause()
        self.attempts.cancel_all("aborted")

