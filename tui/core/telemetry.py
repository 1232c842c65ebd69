"""Worker ``/status`` polled for the views: all workers at once, each with its own timeout.

One hung worker must not delay the others' numbers, so every poll is its own
task bounded by ``timeout``; a round takes as long as the slowest answer, at
most ``timeout``.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Mapping, Optional

from . import events as ev
from .client import WorkerClient, WorkerError
from .waiting import within

__all__ = ["poll_once", "telemetry_loop"]


async def poll_once(clients: Mapping[str, WorkerClient], *, timeout: float,
                    publish: Callable[[ev.Event], None]) -> dict[str, bool]:
    """Ask every worker in ``clients`` for ``/status`` concurrently; which ones answered."""
    names = list(clients)

    async def one(name: str) -> bool:
        try:
            status = await within(clients[name].status(timeout=timeout), timeout)
        except (WorkerError, asyncio.TimeoutError):
            return False
        publish(ev.WorkerTelemetry(name, status))
        return True

    results = await asyncio.gather(*(one(n) for n in names))
    return dict(zip(names, results))


async def telemetry_loop(clients: Callable[[], Mapping[str, WorkerClient]], *, interval: float, timeout: float,
                         publish: Callable[[ev.Event], None],
                         answered: Optional[Callable[[dict[str, bool]], None]] = None) -> None:
    """Poll the workers ``clients()`` names (those not down) every ``interval`` seconds until cancelled;
    ``answered`` is told who answered each round (a worker that stops answering is hung)."""
    loop = asyncio.get_running_loop()
    while True:
        slept_from = loop.time()
        await asyncio.sleep(interval)
        late = loop.time() - slept_from - interval
        results = await poll_once(clients(), timeout=timeout, publish=publish)
        # a round that began late says more about this process (starved, swapping) than about the workers
        if answered is not None and late < timeout:
            answered(results)
