"""Typed events the core publishes; front ends (headless, Textual) subscribe to them.

Events are plain frozen dataclasses so they cross thread and process seams
cheaply and a front end never needs the core's internals.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

__all__ = [
    "RunStarted",
    "WorkerState",
    "WorkerTelemetry",
    "UnitQueued",
    "UnitStarted",
    "UnitDone",
    "UnitFailed",
    "ChapterDone",
    "AssemblyStarted",
    "RunFinished",
    "Notice",
    "Event",
    "EventBus",
]


@dataclass(frozen=True)
class RunStarted:
    title: str
    total_units: int
    total_chapters: int
    already_done: int
    est_audio_seconds: float
    workers: tuple[str, ...]
    chapter_titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkerState:
    worker: str
    state: str  # "up", "down", "draining", "probing"
    host: str = ""
    reason: str = ""


@dataclass(frozen=True)
class WorkerTelemetry:
    worker: str
    status: str
    engine: str = ""
    device: str = ""
    gpu_name: Optional[str] = None
    gpu_memory_used_mb: Optional[float] = None
    gpu_memory_total_mb: Optional[float] = None
    units_done: int = 0
    audio_seconds: float = 0.0
    synthesis_seconds: float = 0.0


@dataclass(frozen=True)
class UnitQueued:
    unit_id: str
    chapter_index: int


@dataclass(frozen=True)
class UnitStarted:
    unit_id: str
    chapter_index: int
    worker: str
    attempt: int
    speculative: bool = False


@dataclass(frozen=True)
class UnitDone:
    unit_id: str
    chapter_index: int
    worker: str
    audio_seconds: float
    wall_seconds: float
    reused: bool = False


@dataclass(frozen=True)
class UnitFailed:
    unit_id: str
    chapter_index: int
    worker: str
    error: str
    quarantined: bool = False


@dataclass(frozen=True)
class ChapterDone:
    chapter_index: int
    title: str
    audio_seconds: float


@dataclass(frozen=True)
class AssemblyStarted:
    output: str


@dataclass(frozen=True)
class Notice:
    level: str  # "info", "warning", "error"
    message: str


@dataclass(frozen=True)
class RunFinished:
    ok: bool
    outputs: tuple[str, ...]
    audio_seconds: float
    wall_seconds: float
    units_total: int
    units_synthesized: int
    units_reused: int
    quarantined: tuple[str, ...]
    per_worker: dict = field(default_factory=dict)  # name -> {"units": n, "audio_seconds": s, "busy_seconds": s}
    tail_seconds: float = 0.0
    error: str = ""


Event = Union[
    RunStarted, WorkerState, WorkerTelemetry, UnitQueued, UnitStarted, UnitDone, UnitFailed,
    ChapterDone, AssemblyStarted, Notice, RunFinished,
]


class EventBus:
    """Fan-out of core events to subscribers (callables); a failing subscriber never breaks the run."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def queue(self) -> "asyncio.Queue[Event]":
        """An asyncio queue that receives every event (for front ends that pull)."""
        q: asyncio.Queue[Event] = asyncio.Queue()
        self.subscribe(q.put_nowait)
        return q

    def publish(self, event: Event) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a front end bug must not stop synthesis
                pass
