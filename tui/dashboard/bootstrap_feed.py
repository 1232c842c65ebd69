"""Bootstrap every inventory host and publish what happens as typed events.

``tui.ssh.commands.bootstrap`` reports progress only as text lines, so this
drives the same public SSH steps (``HostSession.open`` with a phase sink,
``bootstrap_host``) and turns them into ``HostPhase``/``HostRecapped``/
``Notice`` events for a :class:`RunState`, one host's failure never stopping
the others.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, Optional

from ..core import events as ev

__all__ = ["bootstrap_inventory"]


async def bootstrap_inventory(inv, publish: Callable[[ev.Event], None], *, accept_new_host_keys: bool = False,
                              wheelhouse: Optional[Path] = None) -> list:
    """Bootstrap every host of ``inv`` concurrently; returns the :class:`HostRecap` per host."""
    from ..ssh.bootstrap import BootstrapError, HostSession, Wheelhouse, bootstrap_host
    from ..ssh.connection import HostUnreachable
    from ..ssh.report import HostRecap
    from ..ssh.wheel import WheelBuildError, project_wheel

    def on_event(host: str, message: str) -> None:
        publish(ev.Notice("info", f"{host}: {message}"))

    def on_phase(host: str, phase: str, detail: str = "") -> None:
        publish(ev.HostPhase(host, phase, detail))

    def recapped(recap: HostRecap) -> HostRecap:
        if not recap.ok:
            publish(ev.HostPhase(recap.host, "failed", recap.message))
        publish(ev.HostRecapped(recap.host, recap.state, recap.step or "", recap.message,
                                tuple(recap.output[-10:]), tuple(recap.changes), tuple(recap.workers)))
        return recap

    try:
        house = Wheelhouse.open(wheelhouse) if wheelhouse is not None else None
        wheel = await asyncio.to_thread(project_wheel)
    except (BootstrapError, WheelBuildError) as exc:
        raise BootstrapError(str(exc)) from None

    async def one(host) -> HostRecap:
        try:
            session = await HostSession.open(host, accept_new_host_keys=accept_new_host_keys, on_event=on_event,
                                             on_phase=on_phase)
        except HostUnreachable as exc:
            return recapped(HostRecap(host.name, "unreachable", "connect", exc.message))
        try:
            return recapped(await bootstrap_host(session, wheel, house))
        except HostUnreachable as exc:
            return recapped(HostRecap(host.name, "unreachable", "connect", exc.message))
        finally:
            await session.close()

    return list(await asyncio.gather(*(one(h) for h in inv.hosts)))
