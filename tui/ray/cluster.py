"""Workers as Ray actors: a :class:`~tui.core.cluster.WorkerSource` over a Ray cluster.

Actors live as long as the run: they are created at ``start()`` (resources reserved first, in
one placement group), owned by this process, and killed at ``stop()``; if the orchestrator dies,
Ray removes them with it. Ray restarts an actor that dies (up to ``max_restarts``); ``b`` (and
the core after two failed probes) replaces one that does not come back.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Callable, Optional

from ..core import events as ev
from ..core.cluster import ClusterError, Offer, WorkerEndpoint, WorkerSource
from .settings import LOCAL, RaySettings

__all__ = ["RayCluster", "ALIVE_TIMEOUT_S"]

#: seconds ``rebootstrap`` waits for an actor Ray may be restarting before it replaces it
ALIVE_TIMEOUT_S = 30.0


class RayCluster(WorkerSource):
    """``RayCluster(RaySettings(address="10.0.0.5:6379", workers=4))``; endpoints reach actors via Ray."""

    offers = frozenset({Offer.EVENTS, Offer.HOSTS, Offer.REBOOTSTRAP})

    def __init__(self, settings: RaySettings, *, local_cpus: Optional[int] = None) -> None:
        self.settings = settings
        self.local_cpus = local_cpus
        self.slots: list[Any] = []  # transport.ActorSlot
        self._conn: Any = None
        self._group: Any = None
        self._plan: Any = None
        self._token = secrets.token_urlsafe(24)
        self._tag = secrets.token_hex(3)
        self._publish: Optional[Callable[[ev.Event], None]] = None

    def __repr__(self) -> str:  # never print the token
        return f"RayCluster(address={self.settings.address!r})"

    def bind_events(self, publish: Callable[[ev.Event], None]) -> None:
        self._publish = publish

    def _notice(self, level: str, message: str) -> None:
        if self._publish is not None:
            self._publish(ev.Notice(level, message))

    def host_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(slot.host for slot in self.slots))

    @property
    def connection(self) -> Any:
        return self._conn

    # ------------------------------------------------------------------ start
    async def start(self) -> list[WorkerEndpoint]:
        from .connect import connect
        from .runtime import job_runtime_env

        self._conn = await asyncio.to_thread(connect, self.settings.address, num_cpus=self.local_cpus,
                                             runtime_env=job_runtime_env(self.settings))
        try:
            return await self._start_workers()
        except BaseException:
            await self.stop()
            raise

    async def _start_workers(self) -> list[WorkerEndpoint]:
        from .plan import alive_nodes, plan_workers, reserve, summary

        nodes = await asyncio.to_thread(alive_nodes)
        self._plan = plan_workers(self.settings, nodes)
        where = "a private one-node cluster" if self.settings.address == LOCAL else self.settings.address
        self._notice("info", f"ray: {where}: {len(nodes)} node(s) ({summary(nodes)}); "
                             f"starting {self._plan.describe()}")
        self._group = await asyncio.to_thread(reserve, self._plan)
        results = await asyncio.gather(*(self._new_actor(i) for i in range(self._plan.count)),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for err in errors:
            if not isinstance(err, ClusterError):
                raise err
        self.slots = [r for r in results if not isinstance(r, BaseException)]
        if not self.slots:
            raise errors[0]
        for err in errors:
            self._notice("warning", f"ray: {err}")
        return [self._endpoint(slot) for slot in self.slots]

    async def _new_actor(self, index: int) -> Any:
        from .actors import describe, kill_actor, start_actor, worker_name
        from .transport import ActorSlot

        handle = start_actor(index, self._tag, self._plan, self._group, self.settings, self._token)
        try:
            info = await describe(handle)
        except BaseException:
            await asyncio.to_thread(kill_actor, handle, graceful=False)
            raise
        slot = ActorSlot(index, worker_name(index, info), str(info.get("node_ip", "")), handle)
        slot.pid, slot.gpus = info.get("pid"), list(info.get("gpus") or [])
        slot.on_lost, slot.on_back = self._lost, self._back
        return slot

    def _endpoint(self, slot: Any) -> WorkerEndpoint:
        from .transport import ActorTransport

        return WorkerEndpoint(slot.name, f"http://{slot.name.split('@')[0]}.ray.invalid", token=self._token,
                              host=slot.host, transport=lambda: ActorTransport(slot))

    def _lost(self, slot: Any, why: str) -> None:
        restarts = self.settings.max_restarts
        then = "Ray restarts it" if restarts != 0 else "press b for a new one"
        self._notice("warning", f"{slot.name}: Ray actor lost ({why}); {then}")

    def _back(self, slot: Any) -> None:
        self._notice("info", f"{slot.name}: Ray actor answers again")

    # ------------------------------------------------------------------ b / dead actors
    async def rebootstrap(self, host: str) -> list[WorkerEndpoint]:
        """Replace every actor on ``host`` that does not answer within :data:`ALIVE_TIMEOUT_S` (Ray may be
        restarting it) with a new one on the same reserved resources; their endpoints."""
        from .actors import describe, kill_actor

        mine = [slot for slot in self.slots if slot.host == host]
        if not mine:
            raise ClusterError(f"no Ray worker runs on {host}")
        replaced = []
        for slot in mine:
            try:
                await describe(slot.handle, timeout=ALIVE_TIMEOUT_S)
                continue
            except ClusterError:
                pass
            await asyncio.to_thread(kill_actor, slot.handle, graceful=False)
            fresh = await self._new_actor(slot.index)
            slot.handle, slot.host, slot.pid, slot.gpus = fresh.handle, fresh.host, fresh.pid, fresh.gpus
            slot.out = False
            replaced.append(self._endpoint(slot))
        return replaced

    # ------------------------------------------------------------------ stop
    async def stop(self) -> None:
        """Kill this run's actors, release their resources, leave the cluster (stop a private one)."""
        slots, self.slots = self.slots, []
        group, self._group = self._group, None
        conn, self._conn = self._conn, None
        if conn is None:
            return

        def teardown() -> None:
            from .actors import kill_actor
            from .plan import release

            for slot in slots:
                kill_actor(slot.handle)
            if group is not None:
                release(group)
            conn.close()

        await asyncio.to_thread(teardown)
