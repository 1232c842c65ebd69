"""Remote workers as a :class:`~tui.core.cluster.WorkerSource`: one local forward per worker.

Each host keeps one connection with keepalive. When it dies the forwards die
with it (requests fail at once, the core requeues), and a background task
reconnects with backoff and reopens the forwards on the same local ports, so
the endpoints handed to the core stay valid. Workers are left running on
``stop()``: the next run finds them ready.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Callable, Optional

import asyncssh

from ..core import events as ev
from ..core.cluster import ClusterError, Offer, WorkerEndpoint, WorkerSource
from ..core.waiting import Backoff, retry
from .bootstrap import BootstrapError, HostSession, Wheelhouse, bootstrap_host
from .connection import HostUnreachable, SshError
from .forwards import check_health, open_forward
from .inventory import HostSpec, Inventory, WorkerSpec
from .report import HostRecap, recap_events
from .wheel import ProjectWheel, WheelBuildError, project_wheel

__all__ = ["SshCluster", "RECONNECT_MAX_DELAY"]

RECONNECT_MAX_DELAY = 30.0
EventSink = Callable[[str, str], None]


class _HostLink:
    """One host's connection, its forwards, and the task that watches it."""

    def __init__(self, host: HostSpec) -> None:
        self.host = host
        self.session: Optional[HostSession] = None
        self.listeners: list[asyncssh.SSHListener] = []
        self.local_ports: dict[str, int] = {}  # worker name -> local port, kept across reconnects
        self.tokens: dict[str, Optional[str]] = {}
        self.watcher: Optional[asyncio.Task] = None
        self.connected = False


class SshCluster(WorkerSource):
    """Workers on the inventory's hosts, reached through SSH local port forwards."""

    offers = frozenset({Offer.EVENTS, Offer.HOSTS, Offer.REBOOTSTRAP, Offer.CONNECTIVITY})

    def __init__(
        self,
        inventory: Inventory,
        *,
        bootstrap: bool = True,
        accept_new_host_keys: bool = False,
        wheelhouse: Optional[Path] = None,
        on_event: Optional[EventSink] = None,
    ) -> None:
        self.inventory = inventory
        self.bootstrap = bootstrap
        self.accept_new_host_keys = accept_new_host_keys
        self.wheelhouse = wheelhouse
        self.on_event = on_event
        self.recaps: list[HostRecap] = []
        self._links: dict[str, _HostLink] = {}
        self._wheel: Optional[ProjectWheel] = None
        self._house: Optional[Wheelhouse] = None
        self._stopping = False
        self._publish: Optional[Callable[[ev.Event], None]] = None

    def host_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.inventory.hosts)

    def bind_events(self, publish: Callable[[ev.Event], None]) -> None:
        """Publish typed bootstrap phases, recaps and connection news (instead of text on stderr)."""
        self._publish = publish

    def _event(self, host: str, message: str) -> None:
        if self.on_event:
            self.on_event(host, message)
        if self._publish is not None:
            level = "warning" if any(w in message for w in ("lost", "failed", "unreachable", "not running")) \
                else "info"
            self._publish(ev.Notice(level, f"{host}: {message}"))

    def _phase(self, host: str, phase: str, detail: str = "") -> None:
        if self._publish is not None:
            self._publish(ev.HostPhase(host, phase, detail))

    def _recapped(self, recap: HostRecap) -> None:
        if self._publish is not None:
            for event in recap_events(recap):
                self._publish(event)

    def is_connected(self, host: str) -> bool:
        link = self._links.get(host)
        return bool(link and link.connected)

    async def start(self) -> list[WorkerEndpoint]:
        if self.bootstrap:
            try:
                self._house = Wheelhouse.open(self.wheelhouse) if self.wheelhouse is not None else None
                self._wheel = await asyncio.to_thread(project_wheel)
            except (BootstrapError, WheelBuildError) as exc:
                raise ClusterError(str(exc)) from None
        self._stopping = False
        results = await asyncio.gather(*(self._start_and_recap(h) for h in self.inventory.hosts))
        self.recaps = [r for r, _ in results]
        endpoints = [e for _, eps in results for e in eps]
        if not endpoints:
            reasons = "; ".join(f"{r.host}: {r.state}{' at ' + r.step if r.step else ''}: {r.message}"
                                for r in self.recaps if not r.ok) or "no worker answered"
            await self.stop()
            raise ClusterError(f"no remote worker is available ({reasons})")
        return endpoints

    async def _start_and_recap(self, host: HostSpec, ports: Optional[dict[str, int]] = None
                               ) -> tuple[HostRecap, list[WorkerEndpoint]]:
        """One host brought up; its recap is published the moment it is known, not after every host."""
        recap, endpoints = await self._start_host(host, ports)
        if endpoints and not recap.workers:
            recap.workers = [e.name for e in endpoints]
        self._recapped(recap)
        if endpoints:
            self._phase(host.name, "healthy", f"{len(endpoints)} worker(s)")
        return recap, endpoints

    async def rebootstrap(self, host_name: str) -> list[WorkerEndpoint]:
        """Bootstrap one host again (reconnect, reinstall what changed, restart what is not running) and
        reopen its forwards on the same local ports; returns its endpoints."""
        host = next((h for h in self.inventory.hosts if h.name == host_name), None)
        if host is None:
            raise ClusterError(f"no host {host_name} in {self.inventory.path}")
        try:
            if self._wheel is None:
                self._house = Wheelhouse.open(self.wheelhouse) if self.wheelhouse is not None else None
                self._wheel = await asyncio.to_thread(project_wheel)
        except (BootstrapError, WheelBuildError) as exc:
            raise ClusterError(str(exc)) from None
        old = self._links.get(host_name)
        ports: dict[str, int] = {}
        if old is not None:
            ports = dict(old.local_ports)
            if old.watcher is not None:
                old.watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await old.watcher
            self._close_listeners(old)
            if old.session is not None:
                await old.session.close()
        saved, self.bootstrap = self.bootstrap, True
        try:
            recap, endpoints = await self._start_and_recap(host, ports)
        finally:
            self.bootstrap = saved
        self.recaps = [r for r in self.recaps if r.host != host_name] + [recap]
        if not endpoints:
            raise ClusterError(f"{recap.state}{' at ' + recap.step if recap.step else ''}: {recap.message}")
        return endpoints

    async def _start_host(self, host: HostSpec, ports: Optional[dict[str, int]] = None
                          ) -> tuple[HostRecap, list[WorkerEndpoint]]:
        link = _HostLink(host)
        link.local_ports.update(ports or {})
        self._links[host.name] = link
        try:
            session = await HostSession.open(host, accept_new_host_keys=self.accept_new_host_keys,
                                             on_event=self.on_event, on_phase=self._phase)
        except HostUnreachable as exc:
            self._event(host.name, f"unreachable: {exc.message}")
            return HostRecap(host.name, "unreachable", "connect", exc.message), []
        link.session = session
        try:
            recap, ready = await self._prepare(link)
            if not ready:
                self._event(host.name, f"no worker: {recap.message or 'none healthy'}")
                await session.close()
                link.session = None
                return recap, []
            await self._open_forwards(link, ready)
        except SshError as exc:
            self._event(host.name, f"failed: {exc.message}")
            await session.close()
            link.session = None
            return HostRecap(host.name, "unreachable" if isinstance(exc, HostUnreachable) else "failed",
                             "forward", exc.message), []
        link.connected = True
        link.watcher = asyncio.create_task(self._watch(link), name=f"ssh-watch-{host.name}")
        endpoints = [WorkerEndpoint(w.name, f"http://127.0.0.1:{link.local_ports[w.name]}",
                                    token=link.tokens.get(w.name), host=host.name) for w in ready]
        return recap, endpoints

    async def _prepare(self, link: _HostLink) -> tuple[HostRecap, list[WorkerSpec]]:
        """Bootstrap (or just inspect) the host; the workers that are running, with their tokens."""
        session = link.session
        assert session is not None
        host = link.host
        if self.bootstrap:
            assert self._wheel is not None
            recap = await bootstrap_host(session, self._wheel, self._house)
            if not recap.ok:
                self._event(host.name, f"bootstrap {recap.state} at {recap.step}: {recap.message}")
                return recap, []
        else:
            await session.resolve_workdir()
            recap = HostRecap(host.name, "ok")
        state = await session.inspect(check_venv=False)
        ready = []
        for worker in host.workers():
            current = state["workers"].get(worker.slug) or {}
            if current.get("alive"):
                link.tokens[worker.name] = current.get("token")
                ready.append(worker)
            else:
                self._event(host.name, f"{worker.name} is not running (run bootstrap)")
        if not ready and recap.ok:
            recap = HostRecap(host.name, "failed", "workers", "no worker is running on this host")
        return recap, ready

    async def _open_forwards(self, link: _HostLink, workers: list[WorkerSpec]) -> None:
        session = link.session
        assert session is not None
        for worker in workers:
            wanted = link.local_ports.get(worker.name, 0)
            try:
                listener, port = await open_forward(session.conn, worker.remote_port, wanted)
            except OSError as exc:
                raise SshError(link.host.name, f"cannot listen on 127.0.0.1:{wanted} for {worker.name}: "
                                               f"{exc.strerror or exc}") from None
            link.listeners.append(listener)
            link.local_ports[worker.name] = port
            if not self.bootstrap:
                report = await check_health(f"http://127.0.0.1:{port}", link.tokens.get(worker.name))
                if not report.ok:
                    self._event(link.host.name, f"{worker.name}: {report.problem}")
        self._event(link.host.name, "forwarding " + ", ".join(
            f"{w.name} -> 127.0.0.1:{link.local_ports[w.name]}" for w in workers))

    async def _watch(self, link: _HostLink) -> None:
        """Wait for the connection to die, then reconnect with backoff until stop()."""
        while not self._stopping:
            session = link.session
            assert session is not None
            with contextlib.suppress(Exception):
                await session.conn.wait_closed()
            if self._stopping:
                return
            link.connected = False
            self._close_listeners(link)
            link.session = None
            self._event(link.host.name, "connection lost; its workers are out until it comes back")
            try:
                await retry(lambda: self._reconnect(link), retryable=lambda exc: isinstance(exc, SshError),
                            backoff=Backoff(1.0, 2.0, RECONNECT_MAX_DELAY), keep_going=lambda: not self._stopping,
                            on_retry=lambda exc, delay: self._event(
                                link.host.name, f"reconnect failed ({getattr(exc, 'message', exc)}); "
                                                f"next try in {delay:g} s"))
            except SshError:
                return  # stopping
            link.connected = True
            self._event(link.host.name, "reconnected")

    async def _reconnect(self, link: _HostLink) -> None:
        """One try at bringing a lost host back: connect, find its workers, reopen their forwards."""
        try:
            link.session = await HostSession.open(link.host, on_event=None, on_phase=None, attempts=1)
            _, ready = await self._prepare(link)
            ready = [w for w in ready if w.name in link.local_ports]
            if not ready:
                raise SshError(link.host.name, "no worker running after reconnect")
            await self._open_forwards(link, ready)
        except SshError:
            if link.session is not None:
                await link.session.close()
                link.session = None
            self._close_listeners(link)
            raise

    @staticmethod
    def _close_listeners(link: _HostLink) -> None:
        for listener in link.listeners:
            listener.close()
        link.listeners = []

    async def stop(self) -> None:
        """Close forwards and connections; remote workers keep running for the next run."""
        self._stopping = True
        links = list(self._links.values())
        for link in links:
            if link.watcher is not None:
                link.watcher.cancel()
        for link in links:
            if link.watcher is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await link.watcher
            self._close_listeners(link)
            if link.session is not None:
                await link.session.close()
                link.session = None
            link.connected = False
        self._links = {}
