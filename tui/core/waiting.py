"""The one way this project waits and retries: exponential backoff, a deadline, a reason to stop.

Connecting to a host, reconnecting a lost one, waiting for a local worker to
load its model and waiting for a remote one behind a forward all do the same
thing: try, and if it did not work yet, wait a little longer and try again,
until it works, the attempts or the time run out, or trying again is pointless.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterator, Optional, TypeVar

__all__ = ["Backoff", "retry", "poll_until", "within"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays ``first``, ``first * factor``, … capped at ``maximum`` seconds."""

    first: float = 0.5
    factor: float = 2.0
    maximum: float = 8.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


async def retry(
    attempt: Callable[[], Awaitable[T]],
    *,
    retryable: Callable[[BaseException], bool],
    attempts: Optional[int] = None,
    backoff: Backoff = Backoff(),
    on_retry: Optional[Callable[[BaseException, float], None]] = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> T:
    """Call ``attempt`` until it returns. An exception ``retryable`` rejects propagates at once; a
    retryable one is raised when ``attempts`` are used up or ``keep_going()`` turns false.
    ``on_retry(error, delay)`` is told before each wait."""
    tries = 0
    delays = backoff.delays()
    while True:
        tries += 1
        try:
            return await attempt()
        except Exception as exc:  # noqa: BLE001 - sorted by retryable()
            if not retryable(exc) or (attempts is not None and tries >= attempts) or not keep_going():
                raise
            delay = next(delays)
            if on_retry is not None:
                on_retry(exc, delay)
        await asyncio.sleep(delay)


async def poll_until(
    check: Callable[[], Awaitable[Optional[T]]],
    *,
    timeout: float,
    interval: float = 0.5,
    give_up: Optional[Callable[[], Awaitable[Optional[str]]]] = None,
    give_up_every: float = 2.0,
) -> tuple[Optional[T], str]:
    """Call ``check`` every ``interval`` s until it returns something other than None.

    Returns ``(value, "")``, or ``(None, reason)``: ``"timeout"``, or what ``give_up()`` returned
    (asked every ``give_up_every`` s, e.g. "the process exited").
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_give_up = loop.time() + give_up_every
    while True:
        value = await check()
        if value is not None:
            return value, ""
        now = loop.time()
        if give_up is not None and now >= next_give_up:
            next_give_up = now + give_up_every
            reason = await give_up()
            if reason:
                return None, reason
        if now >= deadline:
            return None, "timeout"
        await asyncio.sleep(interval)


async def within(awaitable: Awaitable[T], timeout: float) -> T:
    """``await awaitable`` for at most ``timeout`` seconds, then cancel it and raise ``asyncio.TimeoutError``.

    What ``asyncio.wait_for`` does, except that before Python 3.12 ``wait_for`` drops a cancellation that
    arrives just as the awaited thing finishes (it returns the result and the caller never learns it was
    cancelled): in a run that lost Ctrl-C, and could leave a cancelled loop running. This never does.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except BaseException:
        task.cancel()
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task})  # let it unwind; a cancellation of ours still propagates from here
        raise asyncio.TimeoutError()
    return task.result()
