"""Bringing workers back: a host bootstrapped again on request (``b``) or when its worker died.

A worker that failed two probes in a row on a host we still reach has died
(crashed, OOM-killed, host rebooted): its host's workers are started again
without the user's help, at most once a minute per host. A host whose link is
down is left to its source, which reconnects on its own.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from . import events as ev
from .cluster import ClusterError, Offer, WorkerSource
from .control import RunControl
from .tasks import TaskGroup
from .workers import WorkerPool

__all__ = ["Supervisor"]

#: seconds between two automatic restarts of one host's workers
RESTART_EVERY_S = 60.0


class Supervisor:
    def __init__(self, source: WorkerSource, pool: WorkerPool, publish: Callable[[ev.Event], None],
                 control: RunControl, tasks: TaskGroup) -> None:
        self.source = source
        self.pool = pool
        self.publish = publish
        self.control = control
        self.tasks = tasks
        self._running: set[str] = set()
        self._last: dict[str, float] = {}
        self._failures: dict[str, int] = {}  # worker -> re-probes in a row that failed

    @property
    def can_rebootstrap(self) -> bool:
        return Offer.REBOOTSTRAP in self.source.offers

    def knows_host(self, host: str) -> bool:
        return host in self.pool.hosts() or host in self.source.host_names()

    def rebootstrap(self, host: str, *, auto: bool = False) -> None:
        """Start ``host``'s workers again in the background (once at a time per host)."""
        if host in self._running:
            return
        self._running.add(host)
        self.tasks.spawn(self._rebootstrap(host, auto=auto), name=f"rebootstrap-{host}")

    def probe_ok(self, worker: str) -> None:
        self._failures.pop(worker, None)

    def probe_failed(self, worker: str) -> None:
        """A re-probe of ``worker`` failed: the second in a row restarts its host's workers."""
        self._failures[worker] = self._failures.get(worker, 0) + 1
        host = self.pool.host_of(worker)
        if not self.can_rebootstrap or self._failures[worker] < 2 or worker in self.pool.excluded:
            return
        if Offer.CONNECTIVITY in self.source.offers and not self.source.is_connected(host):
            return  # the link is down: the source reconnects (and bootstraps) on its own
        last = self._last.get(host)
        if last is not None and asyncio.get_running_loop().time() - last < RESTART_EVERY_S:
            return
        self.rebootstrap(host, auto=True)

    async def _rebootstrap(self, host: str, *, auto: bool) -> None:
        if not auto:
            self._notice("info", f"bootstrapping {host} again")
        try:
            endpoints = await self.source.rebootstrap(host)
        except ClusterError as exc:
            self._notice("warning" if auto else "error", f"{host}: {exc}")
            return
        finally:
            self._running.discard(host)
            self._last[host] = asyncio.get_running_loop().time()
        for ep in endpoints:
            await self.pool.add(ep)
        if endpoints:
            self._notice("info", f"{host}: {', '.join(ep.name for ep in endpoints)} started again"
                         + (" (it had stopped answering)" if auto else ""))
        self.control.kick()

    def _notice(self, level: str, message: str) -> None:
        self.publish(ev.Notice(level, message))
