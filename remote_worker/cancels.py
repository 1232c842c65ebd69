"""Cancel flags of the units in flight, so ``POST /cancel/{id}`` can stop one between two sentences."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator, Optional

__all__ = ["ATTEMPT_HEADER", "CancelRegistry"]

#: Request header naming the client's attempt, so ``POST /cancel/{id}?attempt=`` hits only that one.
ATTEMPT_HEADER = "X-E2A-Attempt"


class CancelRegistry:
    """Unit id (as text) → (attempt tag, cancel flag) of each of its requests in this worker.

    Only touched from the event loop; the flags themselves are read from engine threads.
    """

    def __init__(self) -> None:
        self._flags: dict[str, list[tuple[str, threading.Event]]] = {}

    @contextlib.contextmanager
    def registered(self, unit_id: str, attempt: str) -> Iterator[threading.Event]:
        """A fresh flag for one request of ``unit_id``, known here while the block runs."""
        entry = (attempt, threading.Event())
        self._flags.setdefault(unit_id, []).append(entry)
        try:
            yield entry[1]
        finally:
            flags = self._flags.get(unit_id, [])
            if entry in flags:
                flags.remove(entry)
            if not flags:
                self._flags.pop(unit_id, None)

    def cancel(self, unit_id: str, attempt: Optional[str] = None) -> int:
        """Set the flags of ``unit_id`` (only ``attempt``'s when given); how many were set."""
        flags = [flag for tag, flag in self._flags.get(unit_id, []) if attempt is None or tag == attempt]
        for flag in flags:
            flag.set()
        return len(flags)
