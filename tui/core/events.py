"""Typed events the core publishes; the state model folds them, front ends read the model.

Events are plain frozen dataclasses so they cross thread and process seams
cheaply and a front end never needs the core's internals.

The accounting rule that keeps every view exact: each :class:`UnitStarted`
(one attempt, identified by ``attempt_id``) is followed by exactly one
attempt-ending event — :class:`UnitDone`, :class:`AttemptFailed`,
:class:`AttemptBusy`, :class:`AttemptCancelled` or :class:`AttemptLost` —
with the same ``attempt_id``. A unit found finished in the journal is
announced once by :class:`UnitReused` and never started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from remote_worker.protocol import StatusResponse

from .outcome import Outcome

__all__ = [
    "FlaggedCheck",
    "UnitChecked",
    "publish_finished",
    "ChapterInfo",
    "BookLoaded",
    "RunPhase",
    "HostPhase",
    "HostRecapped",
    "WorkerStateChanged",
    "WorkerTelemetry",
    "UnitPlan",
    "RunPlanned",
    "RunStarted",
    "UnitReused",
    "UnitStarted",
    "UnitDone",
    "AttemptFailed",
    "AttemptBusy",
    "AttemptCancelled",
    "AttemptLost",
    "ATTEMPT_ENDINGS",
    "UnitRequeued",
    "ChapterReopened",
    "DispatchChanged",
    "ChapterDone",
    "AssemblyStarted",
    "AssemblyProgress",
    "Notice",
    "RunFinished",
    "Event",
    "EventBus",
]


# ---------------------------------------------------------------------------- the book and the run


@dataclass(frozen=True)
class ChapterInfo:
    index: int
    title: str
    words: int


@dataclass(frozen=True)
class BookLoaded:
    """The book is read (before any worker starts): what the header and chapter list show."""

    title: str
    author: str
    output: str
    chapters: tuple[ChapterInfo, ...]


@dataclass(frozen=True)
class RunPhase:
    """Where the run is: loading, starting, running, stopping, assembling, finished."""

    phase: str
    detail: str = ""


# ---------------------------------------------------------------------------- hosts and workers

#: Bootstrap phases of one SSH host, in order; ``failed`` may follow any of them.
HOST_PHASES = ("connect", "preflight", "upload", "venv", "install", "start", "healthy", "failed")


@dataclass(frozen=True)
class HostPhase:
    host: str
    phase: str  # one of HOST_PHASES
    detail: str = ""


@dataclass(frozen=True)
class HostRecapped:
    """How a host came out of bootstrap, published as soon as that host is done."""

    host: str
    state: str  # ok, changed, failed, unreachable
    step: str = ""
    message: str = ""
    output: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    workers: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkerStateChanged:
    worker: str
    state: str  # starting, probing, up, draining, down
    host: str = ""
    reason: str = ""
    gpu_index: Optional[int] = None


@dataclass(frozen=True)
class WorkerTelemetry:
    """One ``/status`` answer, every field kept."""

    worker: str
    status: StatusResponse


# ---------------------------------------------------------------------------- units and attempts


@dataclass(frozen=True)
class UnitPlan:
    unit_id: str
    chapter_index: int
    characters: int
    est_seconds: float


@dataclass(frozen=True)
class RunPlanned:
    """The book cut into units (once the worker count is known)."""

    session_id: str
    units: tuple[UnitPlan, ...]


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
class UnitReused:
    """A unit whose verified audio was already in the journal."""

    unit_id: str
    chapter_index: int
    worker: str
    audio_seconds: float


@dataclass(frozen=True)
class FlaggedCheck:
    """A sentence verification still found wrong after all its takes (times within its unit)."""

    sentence_index: int
    start: float
    end: float
    score: float
    problem: str
    takes: int
    expected: str
    heard: str


@dataclass(frozen=True)
class UnitChecked:
    """What verification said of a unit's sentences (published before its UnitDone, or after UnitReused)."""

    unit_id: str
    chapter_index: int
    passed: int
    unverified: int
    flagged: tuple[FlaggedCheck, ...] = ()
    retakes: int = 0  # takes beyond the first, all sentences together


@dataclass(frozen=True)
class UnitStarted:
    attempt_id: int
    unit_id: str
    chapter_index: int
    worker: str
    attempt: int
    speculative: bool = False


@dataclass(frozen=True)
class UnitDone:
    attempt_id: int
    unit_id: str
    chapter_index: int
    worker: str
    audio_seconds: float
    wall_seconds: float
    characters: int = 0
    #: the scheduler's speed estimate for the worker after this result (audio s per wall s)
    speed_estimate: Optional[float] = None


@dataclass(frozen=True)
class AttemptFailed:
    attempt_id: int
    unit_id: str
    chapter_index: int
    worker: str
    error: str
    quarantined: bool = False


@dataclass(frozen=True)
class AttemptBusy:
    """The worker had no room; the unit goes back to the queue with no penalty."""

    attempt_id: int
    unit_id: str
    chapter_index: int
    worker: str


@dataclass(frozen=True)
class AttemptCancelled:
    attempt_id: int
    unit_id: str
    chapter_index: int
    worker: str
    reason: str = ""  # requeued, duplicate, stopping, worker left out, …


@dataclass(frozen=True)
class AttemptLost:
    """The worker (or its connection) went away during the attempt."""

    attempt_id: int
    unit_id: str
    chapter_index: int
    worker: str
    error: str = ""


ATTEMPT_ENDINGS = (UnitDone, AttemptFailed, AttemptBusy, AttemptCancelled, AttemptLost)


@dataclass(frozen=True)
class UnitRequeued:
    """A unit went back to the queue (its worker was lost, a command resent it, its backoff ended)."""

    unit_id: str
    chapter_index: int
    reason: str = ""


@dataclass(frozen=True)
class ChapterReopened:
    """Retry or requeue of a chapter: these units are waiting again with fresh counters."""

    chapter_index: int
    unit_ids: tuple[str, ...]
    redo: bool = False


@dataclass(frozen=True)
class DispatchChanged:
    paused: bool


@dataclass(frozen=True)
class ChapterDone:
    chapter_index: int
    title: str
    audio_seconds: float


@dataclass(frozen=True)
class AssemblyStarted:
    output: str


@dataclass(frozen=True)
class AssemblyProgress:
    """Encoded chapter segments so far, of those submitted."""

    segments_done: int
    segments_total: int


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
    #: name -> {"units": n, "audio_seconds": s, "request_seconds": s}
    per_worker: dict = field(default_factory=dict)
    tail_seconds: float = 0.0
    error: str = ""
    outcome: Outcome = Outcome.COMPLETE
    #: unit id -> last error, for the quarantined ones
    errors: dict = field(default_factory=dict)
    #: verification (0 when the run did not verify): sentences heard as written, still wrong after every
    #: take, and not checkable; the flagged report's path when one was written
    sentences_passed: int = 0
    sentences_flagged: int = 0
    sentences_unverified: int = 0
    flagged_report: str = ""

    @classmethod
    def nothing_done(cls, outcome: Outcome, error: str) -> "RunFinished":
        """A run that ended before its plan existed (aborted while workers were starting)."""
        return cls(ok=False, outputs=(), audio_seconds=0.0, wall_seconds=0.0, units_total=0, units_synthesized=0,
                   units_reused=0, quarantined=(), error=error, outcome=outcome)


Event = Union[
    BookLoaded, RunPhase, HostPhase, HostRecapped, WorkerStateChanged, WorkerTelemetry, RunPlanned, RunStarted,
    UnitReused, UnitChecked, UnitStarted, UnitDone, AttemptFailed, AttemptBusy, AttemptCancelled, AttemptLost, UnitRequeued,
    ChapterReopened, DispatchChanged, ChapterDone, AssemblyStarted, AssemblyProgress, Notice, RunFinished,
]


class EventBus:
    """Fan-out of core events to subscribers (callables).

    A failing subscriber never breaks the run, but its failure is not hidden
    either: the first failure of each subscriber reaches the others as a
    :class:`Notice`, so a front-end bug cannot make lines silently vanish.
    """

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []
        self._broken: set[int] = set()
        self.published = 0

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def publish(self, event: Event) -> None:
        self.published += 1
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 - a front end bug must not stop synthesis
                key = id(callback)
                if key in self._broken:
                    continue
                self._broken.add(key)
                notice = Notice("error", f"a display component failed on {type(event).__name__}: "
                                         f"{type(exc).__name__}: {exc}")
                for other in list(self._subscribers):
                    if other is not callback:
                        try:
                            other(notice)
                        except Exception:  # noqa: BLE001
                            pass


def publish_finished(bus: EventBus, result: RunFinished) -> None:
    """The last two events of every run, in this order."""
    bus.publish(RunPhase("finished", result.outcome.value))
    bus.publish(result)
