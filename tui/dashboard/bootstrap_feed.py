"""Bootstrap every inventory host and publish what happens as typed events (the bootstrap view's feed).

The SSH layer's ``bootstrap`` reports each host's phases and recap as they
happen; this turns them into ``HostPhase``/``HostRecapped``/``Notice`` events
for a :class:`RunState`, one host's failure never stopping the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from ..core import events as ev

__all__ = ["bootstrap_inventory"]


async def bootstrap_inventory(inv, publish: Callable[[ev.Event], None], *, accept_new_host_keys: bool = False,
                              wheelhouse: Optional[Path] = None) -> list:
    """Bootstrap every host of ``inv`` concurrently; returns the :class:`HostRecap` per host."""
    from ..ssh.commands import bootstrap
    from ..ssh.report import recap_events

    def on_recap(recap) -> None:
        for event in recap_events(recap):
            publish(event)

    return await bootstrap(
        inv, accept_new_host_keys=accept_new_host_keys, wheelhouse=wheelhouse,
        on_event=lambda host, message: publish(ev.Notice("info", f"{host}: {message}")),
        on_phase=lambda host, phase, detail="": publish(ev.HostPhase(host, phase, detail)),
        on_recap=on_recap,
    )
