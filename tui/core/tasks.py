"""One home for a run's background tasks, so none is dropped, leaked or left running.

``asyncio.TaskGroup`` (3.11+) cancels everything when one task fails; a run's side
tasks (probes, re-bootstraps, cancel notes, pipe drains) must fail alone. This keeps
a strong reference to each until it ends, reports unexpected errors instead of
losing them, and cancels and awaits whatever is left when the run ends.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine, Optional

__all__ = ["TaskGroup"]


class TaskGroup:
    """``tasks.spawn(coro)``; ``await tasks.aclose()`` when the owner ends."""

    def __init__(self, on_error: Optional[Callable[[str, BaseException], None]] = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_error = on_error
        self._closed = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: Optional[str] = None) -> asyncio.Task[Any]:
        if self._closed:
            coro.close()
            raise RuntimeError("task group is closed")
        task = asyncio.ensure_future(coro)
        if name:
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self._on_error is not None:
            self._on_error(task.get_name(), exc)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def aclose(self) -> None:
        """Cancel every task still running and wait for all of them to end."""
        self._closed = True
        while self._tasks:
            pending = list(self._tasks)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
