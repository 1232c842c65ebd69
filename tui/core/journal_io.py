"""The journal driven from one background thread, so SQLite, fsync and decode checks never block the loop.

Bookkeeping writes (attempt rows, unit states) are queued and not awaited:
the single thread runs them in order, so an attempt's end is always written
after its start. Storing audio is awaited, because the caller needs the
verified result.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Optional

from ..book.model import WorkUnit
from .journal import Journal, StoredAudio
from .scheduler import UnitState

__all__ = ["JournalIO"]


class JournalIO:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2a-journal")

    def _submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        return self._thread.submit(fn, *args, **kwargs)

    def attempt_started(self, unit: WorkUnit, worker: str, *, speculative: bool) -> Future:
        """Queue the attempt's row; the future holds its row id."""
        return self._submit(self.journal.attempt_started, unit, worker, speculative=speculative)

    def attempt_ended(self, row: Future, status: str, error: Optional[str] = None) -> None:
        def write() -> None:
            self.journal.attempt_ended(row.result(), status, error)

        self._submit(write)

    def set_unit_state(self, unit_id: str, state: UnitState, error: Optional[str] = None) -> None:
        self._submit(self.journal.set_unit_state, unit_id, state, error)

    def finish_run(self, outcome: str) -> None:
        self._submit(self.journal.finish_run, outcome)

    async def store_audio(self, unit: WorkUnit, audio: bytes, **kwargs: Any) -> StoredAudio:
        """Verify and keep one unit's audio (write, fsync, decode check, SQLite) off the event loop."""
        return await asyncio.wrap_future(self._submit(self.journal.store_audio, unit, audio, **kwargs))

    def close(self) -> None:
        """Finish queued writes, then close the database."""
        self._thread.submit(self.journal.close)
        self._thread.shutdown(wait=True)
