"""The audio a run holds: unit id → verified audio, and how much is still to synthesise.

Owned by the run; the segment pipeline reads it, attempts add to it, a requeue
with redo removes from it. The estimate of what is left is kept as a running sum
because it is read after every unit.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Optional

from ..book.model import WorkUnit
from .journal import StoredAudio

__all__ = ["AudioLedger"]


class AudioLedger(Mapping[str, StoredAudio]):
    """A read-only mapping for readers; :meth:`keep` and :meth:`drop` for the run."""

    def __init__(self) -> None:
        self._audio: dict[str, StoredAudio] = {}
        self._units: tuple[WorkUnit, ...] = ()
        self._left: Optional[float] = None  # None: to be summed again

    def plan(self, units: Iterable[WorkUnit]) -> None:
        """The units of this run (the estimate of what is left counts those without audio)."""
        self._units = tuple(units)
        self._left = None

    def __getitem__(self, unit_id: str) -> StoredAudio:
        return self._audio[unit_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._audio)

    def __len__(self) -> int:
        return len(self._audio)

    def keep(self, unit: WorkUnit, stored: StoredAudio) -> None:
        if unit.id not in self._audio and self._left is not None:
            self._left -= unit.est_seconds
        self._audio[unit.id] = stored

    def drop(self, units: Iterable[WorkUnit]) -> None:
        """Forget these units' audio (they are to be redone)."""
        for unit in units:
            self._audio.pop(unit.id, None)
        self._left = None

    def seconds_left(self) -> float:
        """Estimated audio still to synthesise."""
        if self._left is None:
            self._left = sum(u.est_seconds for u in self._units if u.id not in self._audio)
        return self._left

    def seconds_of(self, units: Iterable[WorkUnit]) -> float:
        return sum(self._audio[u.id].duration for u in units if u.id in self._audio)

    def total_seconds(self) -> float:
        return sum(a.duration for a in self._audio.values())

    def missing(self) -> list[str]:
        return [u.id for u in self._units if u.id not in self._audio]
