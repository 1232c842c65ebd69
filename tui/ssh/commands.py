"""The inventory-wide commands: bootstrap, stop, status, logs.

Each one works on every host at once and reports per host; one host's failure
never stops the others. The click wrappers live in :mod:`tui.ssh.cli`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Awaitable, Callable, Optional, TypeVar

from .bootstrap import BootstrapError, HostSession, PhaseSink, Wheelhouse, bootstrap_host
from .connection import HostUnreachable, RemoteCommandError
from .forwards import check_health, forwarded
from .inventory import HostSpec, Inventory, worker_name
from .report import HostRecap, WorkerStatusRow, format_recap, format_status
from .wheel import WheelBuildError, project_wheel

__all__ = [
    "bootstrap",
    "stop",
    "status",
    "logs",
    "format_recap",
    "format_status",
    "BootstrapError",
    "HostRecap",
    "WorkerStatusRow",
]

T = TypeVar("T")
EventSink = Callable[[str, str], None]


async def _on_each_host(
    inv: Inventory,
    work: Callable[[HostSession], Awaitable[T]],
    unreachable: Callable[[HostSpec, HostUnreachable], T],
    *,
    accept_new_host_keys: bool = False,
    on_event: Optional[EventSink] = None,
    on_phase: Optional[PhaseSink] = None,
) -> list[T]:
    """Connect to every host concurrently, run ``work``, always close; results in inventory order."""

    async def one(host: HostSpec) -> T:
        try:
            session = await HostSession.open(host, accept_new_host_keys=accept_new_host_keys, on_event=on_event,
                                             on_phase=on_phase)
        except HostUnreachable as exc:
            return unreachable(host, exc)
        try:
            return await work(session)
        except HostUnreachable as exc:
            return unreachable(host, exc)
        finally:
            await session.close()

    return list(await asyncio.gather(*(one(h) for h in inv.hosts)))


async def bootstrap(
    inv: Inventory,
    *,
    accept_new_host_keys: bool = False,
    wheelhouse: Optional[Path] = None,
    on_event: Optional[EventSink] = None,
    on_phase: Optional[PhaseSink] = None,
    on_recap: Optional[Callable[[HostRecap], None]] = None,
) -> list[HostRecap]:
    """Prepare every host and start its workers; one :class:`HostRecap` per host.

    ``on_phase(host, phase, detail)`` hears each bootstrap phase and ``on_recap`` each host's recap the
    moment that host is done (a live view needs both; the text output only ``on_event``).
    """
    house = Wheelhouse.open(wheelhouse) if wheelhouse is not None else None
    try:
        wheel = await asyncio.to_thread(project_wheel)
    except WheelBuildError as exc:
        raise BootstrapError(str(exc)) from None

    def told(recap: HostRecap) -> HostRecap:
        if on_recap is not None:
            on_recap(recap)
        return recap

    async def work(session: HostSession) -> HostRecap:
        return told(await bootstrap_host(session, wheel, house))

    return await _on_each_host(
        inv, work, lambda h, e: told(HostRecap(h.name, "unreachable", "connect", e.message)),
        accept_new_host_keys=accept_new_host_keys, on_event=on_event, on_phase=on_phase,
    )


async def stop(inv: Inventory, *, on_event: Optional[EventSink] = None) -> list[HostRecap]:
    """Stop every worker process under each host's workdir (by pid; venv and token stay)."""

    async def work(session: HostSession) -> HostRecap:
        host = session.host
        try:
            result = await session.agent.call("stop", "stop", slugs=None)
        except RemoteCommandError as exc:
            return HostRecap(host.name, "failed", exc.step, exc.message, output=exc.output)
        changes = [f"stopped {worker_name(host.name, slug)}" for slug in result["stopped"]]
        return HostRecap(host.name, "changed" if changes else "ok", changes=changes)

    return await _on_each_host(inv, work, lambda h, e: HostRecap(h.name, "unreachable", "connect", e.message),
                               on_event=on_event)


async def status(inv: Inventory, *, on_event: Optional[EventSink] = None) -> list[WorkerStatusRow]:
    """One row per worker in the inventory: running?, healthy?, engine, device, GPU memory."""

    async def work(session: HostSession) -> list[WorkerStatusRow]:
        host = session.host
        try:
            state = await session.inspect(check_venv=False)
        except RemoteCommandError as exc:
            return [WorkerStatusRow(host.name, w.name, w.remote_port, "unreachable", detail=exc.message)
                    for w in host.workers()]

        async def row(worker) -> WorkerStatusRow:
            current = state["workers"].get(worker.slug) or {}
            if not current.get("alive"):
                return WorkerStatusRow(host.name, worker.name, worker.remote_port, "stopped")
            async with forwarded(session.conn, worker.remote_port) as base_url:
                report = await check_health(base_url, current.get("token"))
            health, st = report.health or {}, report.status or {}
            return WorkerStatusRow(
                host.name, worker.name, worker.remote_port, "healthy" if report.ok else "unhealthy",
                pid=current.get("pid"), engine=st.get("engine") or health.get("engine", ""),
                device=st.get("device", ""), voice=st.get("voice", ""), gpu_name=st.get("gpu_name"),
                gpu_memory_used_mb=st.get("gpu_memory_used_mb"), gpu_memory_total_mb=st.get("gpu_memory_total_mb"),
                units_done=int(st.get("units_done") or 0), uptime_seconds=float(st.get("uptime_seconds") or 0.0),
                detail=report.problem or "",
            )

        return list(await asyncio.gather(*(row(w) for w in host.workers())))

    def unreachable(host: HostSpec, exc: HostUnreachable) -> list[WorkerStatusRow]:
        return [WorkerStatusRow(host.name, w.name, w.remote_port, "unreachable", detail=exc.message)
                for w in host.workers()]

    per_host = await _on_each_host(inv, work, unreachable, on_event=on_event)
    return [row for rows in per_host for row in rows]


async def logs(inv: Inventory, host: str, lines: int = 100) -> str:
    """The last ``lines`` of each of the host's worker logs, each under a ``==> name (path) <==`` header."""
    spec = inv.host(host)
    session = await HostSession.open(spec)
    try:
        out = await session.agent.call("tail", "logs", slugs=[w.slug for w in spec.workers()], lines=lines)
    finally:
        await session.close()
    parts = []
    for worker in spec.workers():
        entry = out.get(worker.slug) or {}
        body = entry.get("lines")
        text = "(no log yet)" if body is None else "\n".join(body)
        parts.append(f"==> {worker.name} ({entry.get('path', '?')}) <==\n{text}")
    return "\n\n".join(parts)
