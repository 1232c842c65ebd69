"""The run's shared switches: wake the dispatch loop, stop, abort, or fail for good.

Parts of a run (attempts, commands, workers) flip these; only the driver's
dispatch loop reads them to decide when dispatch ends.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

from .waiting import within

__all__ = ["RunControl"]


class RunControl:
    def __init__(self, session_dir: Optional[Path] = None) -> None:
        self.session_dir = session_dir
        self.stopping = False  # finish what is in flight, then write a partial book
        self.aborting = False  # stop now; finished units are kept
        self.fatal = ""  # why the run cannot go on (first reason wins)
        self._kick = asyncio.Event()

    def kick(self) -> None:
        """Something changed: run the dispatch loop now."""
        self._kick.set()

    async def wait(self, timeout: float) -> None:
        """Until kicked or ``timeout`` seconds have passed."""
        self._kick.clear()
        try:
            await within(self._kick.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def fail(self, reason: str, *, local_storage: bool = False) -> None:
        """The run cannot go on (our own disk or journal, a voice refused); ``local_storage`` names the
        session folder in the message, where the user must look."""
        if local_storage and self.session_dir is not None:
            reason = f"{reason} (in {self.session_dir})"
        self.fatal = self.fatal or reason
        self.kick()
