"""The run's workers: their endpoints and clients, health probes, and who is left out and why.

A worker is probed before its first unit (health, token, engine, replicas) and
again whenever the scheduler asks (it went down); one that stops answering
``/status`` is declared lost; one that cannot serve this run (wrong token, wrong
engine) is left out for good.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Mapping, Optional

from . import events as ev
from .client import WorkerAuthError, WorkerClient, WorkerError
from .cluster import ClusterError, WorkerEndpoint
from .control import RunControl
from .options import RunOptions
from .scheduler import Scheduler, WorkerState
from .tasks import TaskGroup
from .voices import VoiceUploader

__all__ = ["WorkerPool", "round_trips"]


class WorkerPool:
    """``pool.add(endpoint)``; ``pool.clients`` for attempts and telemetry; ``pool.exclude(name, why)``."""

    def __init__(self, options: RunOptions, sched: Scheduler, publish: Callable[[ev.Event], None],
                 control: RunControl, tasks: TaskGroup, voices: Optional[VoiceUploader] = None) -> None:
        self.options = options
        self.sched = sched
        self.publish = publish
        self.control = control
        self.tasks = tasks
        self.voices = voices
        self.endpoints: dict[str, WorkerEndpoint] = {}
        self.clients: dict[str, WorkerClient] = {}
        self.excluded: dict[str, str] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._silent: dict[str, int] = {}  # worker -> telemetry rounds in a row without an answer
        self._lose: Callable[[str, str], None] = lambda name, reason: None
        self._probe_failed: Callable[[str], None] = lambda name: None
        self._probe_ok: Callable[[str], None] = lambda name: None

    def on_events(self, *, lose: Callable[[str, str], None], probe_failed: Callable[[str], None],
                  probe_ok: Callable[[str], None]) -> None:
        """``lose``: declare a worker lost (its attempts end, its units go back); ``probe_failed`` and
        ``probe_ok``: what supervision learns from re-probes."""
        self._lose, self._probe_failed, self._probe_ok = lose, probe_failed, probe_ok

    # ------------------------------------------------------------------ membership
    def host_of(self, worker: str) -> str:
        ep = self.endpoints.get(worker)
        return ep.host if ep else ""

    def hosts(self) -> set[str]:
        return {ep.host for ep in self.endpoints.values()}

    def knows(self, worker: str) -> bool:
        return worker in self.endpoints and worker in self.sched.workers()

    def all_excluded(self) -> bool:
        return bool(self.excluded) and len(self.excluded) == len(self.clients)

    def up_clients(self) -> Mapping[str, WorkerClient]:
        return {n: c for n, c in self.clients.items() if self.sched.worker_state(n) is not WorkerState.DOWN}

    async def start(self, endpoints: list[WorkerEndpoint]) -> None:
        """The first workers: probed all at once; :class:`ClusterError` when none can serve this run."""
        for ep in endpoints:
            self.endpoints[ep.name] = ep
            self.clients[ep.name] = WorkerClient(ep)
            self.sched.add_worker(ep.name)
        healthy = await asyncio.gather(*[self._initial_probe(name) for name in self.clients])
        if not any(healthy) and not self.sched.is_finished() and not self.control.aborting:
            if self.excluded:
                raise ClusterError("no usable worker: " + "; ".join(f"{k} {v}" for k, v in self.excluded.items()))
            raise ClusterError("no worker answered /health")

    async def add(self, ep: WorkerEndpoint) -> None:
        """A worker that (re)appeared: new address or token → new client; then probe it."""
        old = self.endpoints.get(ep.name)
        if old is None or old.base_url != ep.base_url or old.token != ep.token:
            if ep.name in self.clients:
                await self.clients[ep.name].aclose()
            self.endpoints[ep.name] = ep
            self.clients[ep.name] = WorkerClient(ep)
        self.excluded.pop(ep.name, None)
        self.sched.add_worker(ep.name)
        self.probe(ep.name)

    def exclude(self, name: str, reason: str) -> None:
        """Take a worker out of this run for good (it would only fail every unit)."""
        if name in self.excluded:
            return
        self.excluded[name] = reason
        if self.sched.worker_state(name) is WorkerState.DOWN:
            self.publish(ev.WorkerStateChanged(name, "down", self.host_of(name), reason))
        else:
            self._lose(name, reason)
        self.publish(ev.Notice("error", f"worker {name} left out: {reason}"))

    async def prepare(self, worker: str) -> None:
        """Before a worker's first unit: make sure it holds the voice sample (a GET, a PUT if missing)."""
        if self.voices is not None:
            await self.voices.ensure(self.clients[worker])

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    # ------------------------------------------------------------------ probes
    async def _initial_probe(self, name: str) -> bool:
        """Health, token and engine of one worker; a worker that cannot serve this run is left out."""
        client = self.clients[name]
        self.publish(ev.WorkerStateChanged(name, "probing", self.endpoints[name].host))
        try:
            health = await client.health(timeout=10.0)
            status = await client.status(timeout=10.0)
        except WorkerAuthError as exc:
            self.exclude(name, str(exc))
            return False
        except WorkerError as exc:
            self.sched.worker_lost(name, asyncio.get_running_loop().time())
            self.publish(ev.WorkerStateChanged(name, "down", self.endpoints[name].host, str(exc)))
            return False
        engine = health.engine or status.engine
        if engine and engine != self.options.engine:
            self.exclude(name, f"runs engine {engine!r}, this run asks for {self.options.engine!r}")
            return False
        if self.options.verifying and not health.verify.available:
            why = health.verify.reason or "it cannot hear its audio back"
            self.exclude(name, f"cannot verify ({why}); install e2a-tui[verify] there or run with --no-verify")
            return False
        self._fit_slots(name, status.replicas)
        self.publish(ev.WorkerTelemetry(name, status))
        self.publish(ev.WorkerStateChanged(name, "up", self.endpoints[name].host, engine))
        return True

    def probe(self, worker: str) -> None:
        """Probe ``worker`` again (once at a time) unless it is left out."""
        if worker not in self._probes and worker not in self.excluded:
            self._probes[worker] = self.tasks.spawn(self._probe(worker), name=f"probe-{worker}")

    async def _probe(self, worker: str) -> None:
        host = self.host_of(worker)
        self.publish(ev.WorkerStateChanged(worker, "probing", host))
        try:
            await self.clients[worker].health(timeout=5.0)
            status = await self.clients[worker].status(timeout=5.0)
        except WorkerAuthError as exc:
            self.exclude(worker, str(exc))
        except WorkerError as exc:
            self.sched.worker_lost(worker, asyncio.get_running_loop().time())  # restarts its re-probe timer
            self.publish(ev.WorkerStateChanged(worker, "down", host, str(exc)))
            self._probe_failed(worker)
        else:
            self._probe_ok(worker)
            self.sched.worker_up(worker)
            if self.voices is not None:
                self.voices.forget(worker)  # it may have restarted with an empty voice folder
            self._fit_slots(worker, status.replicas)
            self.publish(ev.WorkerTelemetry(worker, status))
            state = "draining" if self.sched.worker_state(worker) is WorkerState.DRAINING else "up"
            self.publish(ev.WorkerStateChanged(worker, state, host, "back"))
        finally:
            self._probes.pop(worker, None)
            self.control.kick()

    def _fit_slots(self, name: str, replicas: Optional[int]) -> None:
        """A worker with N engine replicas runs N units at once and queues as many: give it 2N slots."""
        if (replicas or 1) > 1:
            self.sched.add_worker(name, slots=replicas * self.options.scheduler.slots_per_worker)

    # ------------------------------------------------------------------ telemetry
    def telemetry_answered(self, results: dict[str, bool]) -> None:
        """A worker that stops answering /status is hung (stopped, swapping, wedged): requeue its units."""
        for name, ok in results.items():
            if ok:
                self._silent.pop(name, None)
                continue
            self._silent[name] = self._silent.get(name, 0) + 1
            if self._silent[name] >= self.options.unresponsive_after and \
                    self.sched.worker_state(name) is not WorkerState.DOWN:
                seconds = self._silent[name] * self.options.telemetry_interval
                self._silent.pop(name, None)
                self._lose(name, f"no answer to /status for {seconds:.0f} s (hung?)")
                self.control.kick()


async def round_trips(endpoints: list[WorkerEndpoint], timeout: float = 5.0) -> list[float]:
    """One timed ``/health`` per worker, all at once: the latency units are sized against."""
    async def one(ep: WorkerEndpoint) -> Optional[float]:
        client = WorkerClient(ep)
        try:
            started = time.monotonic()
            await client.health(timeout=timeout)
            return time.monotonic() - started
        except WorkerError:
            return None
        finally:
            await client.aclose()

    return [t for t in await asyncio.gather(*(one(ep) for ep in endpoints)) if t is not None]
