"""Notice a client that went away, so its unit stops between two sentences instead of running on."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import AsyncIterator, Awaitable, Callable

from starlette.requests import Request

__all__ = ["POLL_SECONDS", "watching_disconnect", "flag_reader"]

#: How often the connection is polled while a unit runs.
POLL_SECONDS = 0.1


@contextlib.asynccontextmanager
async def watching_disconnect(request: Request, cancel: threading.Event,
                              period: float = POLL_SECONDS) -> AsyncIterator[None]:
    """While the block runs, set ``cancel`` when the client goes away."""
    watcher = asyncio.create_task(_watch(request, cancel, period))
    try:
        yield
    finally:
        watcher.cancel()


async def _watch(request: Request, cancel: threading.Event, period: float) -> None:
    while not cancel.is_set():
        if await request.is_disconnected():
            cancel.set()
            return
        await asyncio.sleep(period)


def flag_reader(flag: threading.Event) -> Callable[[], Awaitable[bool]]:
    """``abandoned()`` for the runner: the watcher above is the one place that polls the connection."""

    async def abandoned() -> bool:
        return flag.is_set()

    return abandoned
