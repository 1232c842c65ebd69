"""The one state model: the event stream folded into what a person looks at.

Every front end (headless, the progress endpoint, the Textual dashboard) reads
this model instead of folding events itself, so they all show the same numbers.
It is pure: no I/O, no asyncio, and time comes in as ``now`` (the clock is
injectable), so a recorded event stream replays to the same view.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Callable, Deque, Optional

from . import events as ev
from .checks import FlaggedSentence, place_flagged
from .scheduler import UnitState
from .text import printable

__all__ = [
    "WorkerView",
    "ChapterView",
    "UnitView",
    "HostView",
    "Overall",
    "RunState",
    "THROUGHPUT_WINDOW",
]

#: Seconds of results the per-worker throughput is measured over.
THROUGHPUT_WINDOW = 60.0
#: Notices kept for the log panel.
MAX_NOTICES = 200
#: Recent units remembered per worker (detail view).
RECENT_UNITS = 20


@dataclass
class UnitView:
    unit_id: str
    chapter_index: int
    characters: int = 0
    est_seconds: float = 0.0
    state: UnitState = UnitState.PENDING
    reused: bool = False
    attempts: int = 0
    workers: list[str] = field(default_factory=list)
    last_error: str = ""
    audio_seconds: float = 0.0
    running: dict[int, str] = field(default_factory=dict)  # attempt id -> worker
    #: verification: sentences heard as written, not checkable, and still wrong after every take
    passed: int = 0
    unverified: int = 0
    flagged: tuple[ev.FlaggedCheck, ...] = ()
    retakes: int = 0


@dataclass
class WorkerView:
    name: str
    host: str = ""
    gpu_index: Optional[int] = None
    gpu_name: Optional[str] = None
    state: str = "starting"  # starting, probing, up, busy, draining, paused, down
    reason: str = ""
    engine: str = ""
    device: str = ""
    gpu_memory_used_mb: Optional[float] = None
    gpu_memory_total_mb: Optional[float] = None
    gpu_utilization_percent: Optional[float] = None
    queue_depth: int = 0
    current: dict[int, str] = field(default_factory=dict)  # attempt id -> unit id, in dispatch order
    current_chapter: Optional[int] = None
    units_done: int = 0
    units_failed: int = 0
    audio_seconds: float = 0.0
    speed_estimate: Optional[float] = None
    status: dict = field(default_factory=dict)  # the last /status answer, every field
    recent: Deque[tuple[str, str, float]] = field(default_factory=lambda: collections.deque(maxlen=RECENT_UNITS))
    #: (time, audio seconds, characters) of results inside the throughput window
    window: Deque[tuple[float, float, int]] = field(default_factory=collections.deque)
    #: × real time per minute bucket, for a sparkline (oldest first)
    history: Deque[float] = field(default_factory=lambda: collections.deque(maxlen=30))
    draining: bool = False
    down: bool = False

    @property
    def current_unit(self) -> Optional[str]:
        return next(iter(self.current.values()), None)


@dataclass
class ChapterView:
    index: int
    title: str
    words: int = 0
    unit_ids: list[str] = field(default_factory=list)
    done: int = 0
    running: int = 0
    failed: int = 0
    quarantined: int = 0
    attempts: int = 0
    workers: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    est_seconds: float = 0.0
    est_left: float = 0.0
    reused: int = 0
    written: bool = False  # ChapterDone seen
    #: verification, in sentences
    passed: int = 0
    flagged: int = 0
    unverified: int = 0

    @property
    def verified_percent(self) -> Optional[float]:
        """Share of checked sentences heard as written; None when nothing was checked."""
        checked = self.passed + self.flagged
        return 100.0 * self.passed / checked if checked else None

    @property
    def units_total(self) -> int:
        return len(self.unit_ids)

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.units_total if self.unit_ids else 0.0

    @property
    def state(self) -> UnitState:
        """The chapter as one unit state: done when all are, else the most telling of its units'."""
        if self.unit_ids and self.done == self.units_total:
            return UnitState.DONE
        if self.running:
            return UnitState.RUNNING
        if self.quarantined:
            return UnitState.QUARANTINED
        if self.failed:
            return UnitState.FAILED_WAIT
        return UnitState.PENDING


@dataclass
class HostView:
    name: str
    phase: str = "connect"
    detail: str = ""
    started: float = 0.0
    phase_started: float = 0.0
    finished: Optional[float] = None
    recap: Optional[ev.HostRecapped] = None

    def elapsed(self, now: float) -> float:
        return (self.finished if self.finished is not None else now) - self.started


@dataclass
class Overall:
    title: str = ""
    author: str = ""
    output: str = ""
    session_id: str = ""
    phase: str = "loading"
    paused: bool = False
    units_total: int = 0
    units_done: int = 0
    units_reused: int = 0
    units_synthesized: int = 0
    units_running: int = 0
    units_failed: int = 0
    units_quarantined: int = 0
    audio_done: float = 0.0
    audio_synthesized: float = 0.0
    est_audio_total: float = 0.0
    est_audio_left: float = 0.0
    started_at: Optional[float] = None
    dispatch_started_at: Optional[float] = None
    finished_at: Optional[float] = None
    segments_done: int = 0
    segments_total: int = 0
    result: Optional[ev.RunFinished] = None
    sentences_passed: int = 0
    sentences_flagged: int = 0
    sentences_unverified: int = 0
    retakes: int = 0


class RunState:
    """Fold events with :meth:`apply` (a bus subscriber); read the views; ``version`` grows per change."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.overall = Overall()
        self.workers: dict[str, WorkerView] = {}
        self.chapters: dict[int, ChapterView] = {}
        self.units: dict[str, UnitView] = {}
        self.hosts: dict[str, HostView] = {}
        self.notices: Deque[ev.Notice] = collections.deque(maxlen=MAX_NOTICES)
        self.notices_total = 0  # every notice ever folded (the deque keeps the last MAX_NOTICES)
        self.version = 0
        self._handlers: dict[type, Callable] = {
            ev.BookLoaded: self._book, ev.RunPhase: self._phase, ev.HostPhase: self._host_phase,
            ev.HostRecapped: self._host_recap, ev.WorkerStateChanged: self._worker_state,
            ev.WorkerTelemetry: self._telemetry, ev.RunPlanned: self._planned, ev.RunStarted: self._started,
            ev.UnitReused: self._reused, ev.UnitChecked: self._checked, ev.UnitStarted: self._unit_started, ev.UnitDone: self._unit_done,
            ev.AttemptFailed: self._attempt_failed, ev.AttemptBusy: self._attempt_over,
            ev.AttemptCancelled: self._attempt_over, ev.AttemptLost: self._attempt_lost,
            ev.UnitRequeued: self._requeued, ev.ChapterReopened: self._reopened,
            ev.DispatchChanged: self._dispatch, ev.ChapterDone: self._chapter_done,
            ev.AssemblyStarted: self._assembly, ev.AssemblyProgress: self._assembly_progress,
            ev.Notice: self._notice, ev.RunFinished: self._finished,
        }

    # ------------------------------------------------------------------ folding

    def __call__(self, event: ev.Event) -> None:
        self.apply(event)

    def apply(self, event: ev.Event, now: Optional[float] = None) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            return
        handler(event, self.clock() if now is None else now)
        self.version += 1

    def _book(self, e: ev.BookLoaded, now: float) -> None:
        o = self.overall
        o.title, o.author, o.output = e.title, e.author, e.output
        if o.started_at is None:
            o.started_at = now
        for info in e.chapters:
            self.chapters[info.index] = ChapterView(info.index, info.title, info.words)

    def _phase(self, e: ev.RunPhase, now: float) -> None:
        self.overall.phase = e.phase
        if self.overall.started_at is None:
            self.overall.started_at = now

    def _host(self, name: str, now: float) -> HostView:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = HostView(name, started=now, phase_started=now)
        return host

    def _host_phase(self, e: ev.HostPhase, now: float) -> None:
        host = self._host(e.host, now)
        if host.finished is not None:  # bootstrapped again
            host.started, host.finished, host.recap = now, None, None
        if e.phase != host.phase:
            host.phase_started = now
        host.phase, host.detail = e.phase, printable(e.detail)

    def _host_recap(self, e: ev.HostRecapped, now: float) -> None:
        host = self._host(e.host, now)
        host.recap = e
        host.finished = now
        if e.state in ("ok", "changed"):
            host.phase = "healthy"
        else:
            host.phase, host.detail = "failed", printable(e.message)

    def _worker(self, name: str) -> WorkerView:
        worker = self.workers.get(name)
        if worker is None:
            worker = self.workers[name] = WorkerView(name)
        return worker

    def _worker_state(self, e: ev.WorkerStateChanged, now: float) -> None:
        w = self._worker(e.worker)
        if e.host:
            w.host = e.host
        if e.gpu_index is not None:
            w.gpu_index = e.gpu_index
        w.reason = printable(e.reason)
        if e.state == "draining":
            w.draining = True
        elif e.state == "up":
            w.draining, w.down = False, False
        elif e.state == "down":
            w.down = True
        self._worker_label(w, e.state)

    def _worker_label(self, w: WorkerView, base: Optional[str] = None) -> None:
        """The one state word shown: down and draining win, then busy, then paused."""
        if base in ("starting", "probing"):
            w.state = base
            return
        if w.down:
            w.state = "down"
        elif w.draining:
            w.state = "draining"
        elif w.current:
            w.state = "busy"
        elif self.overall.paused:
            w.state = "paused"
        elif base == "up" or w.state not in ("starting", "probing"):
            w.state = "up"

    def _telemetry(self, e: ev.WorkerTelemetry, now: float) -> None:
        w = self._worker(e.worker)
        st = e.status
        w.status = st.model_dump()
        w.engine = st.engine or w.engine
        w.device = f"{st.device}/{st.provider}" if st.provider and st.device else (st.device or w.device)
        w.gpu_name = st.gpu_name
        w.gpu_memory_used_mb = st.gpu_memory_used_mb
        w.gpu_memory_total_mb = st.gpu_memory_total_mb
        w.gpu_utilization_percent = st.gpu_utilization_percent
        w.queue_depth = st.queued or 0
        self._trim_window(w, now)

    def _planned(self, e: ev.RunPlanned, now: float) -> None:
        self.overall.session_id = e.session_id
        self.units = {}
        for chapter in self.chapters.values():
            chapter.unit_ids, chapter.est_seconds = [], 0.0
        for plan in e.units:
            self.units[plan.unit_id] = UnitView(plan.unit_id, plan.chapter_index, plan.characters, plan.est_seconds)
            chapter = self.chapters.get(plan.chapter_index)
            if chapter is None:
                chapter = self.chapters[plan.chapter_index] = ChapterView(plan.chapter_index,
                                                                          f"Chapter {plan.chapter_index + 1}")
            chapter.unit_ids.append(plan.unit_id)
            chapter.est_seconds += plan.est_seconds
        self.overall.units_total = len(e.units)
        self.overall.est_audio_total = sum(u.est_seconds for u in e.units)
        for index in self.chapters:
            self._recount_chapter(index)
        self._recount()

    def _started(self, e: ev.RunStarted, now: float) -> None:
        o = self.overall
        o.title = o.title or e.title
        o.units_total = o.units_total or e.total_units
        o.dispatch_started_at = now
        o.phase = "running"
        for name in e.workers:
            self._worker(name)

    def _reused(self, e: ev.UnitReused, now: float) -> None:
        unit = self._unit(e.unit_id, e.chapter_index)
        unit.state, unit.reused, unit.audio_seconds = UnitState.DONE, True, e.audio_seconds
        if e.worker and e.worker not in unit.workers:
            unit.workers.append(e.worker)
        self._recount_chapter(unit.chapter_index)
        self._recount()

    def _unit(self, unit_id: str, chapter_index: int) -> UnitView:
        unit = self.units.get(unit_id)
        if unit is None:  # an event for a unit the plan did not announce: still count it
            unit = self.units[unit_id] = UnitView(unit_id, chapter_index)
            chapter = self.chapters.setdefault(chapter_index, ChapterView(chapter_index, f"Chapter {chapter_index + 1}"))
            chapter.unit_ids.append(unit_id)
            self.overall.units_total = len(self.units)
            self._recount_chapter(chapter_index)
        return unit

    def _unit_started(self, e: ev.UnitStarted, now: float) -> None:
        unit = self._unit(e.unit_id, e.chapter_index)
        unit.running[e.attempt_id] = e.worker
        unit.attempts += 1
        if e.worker not in unit.workers:
            unit.workers.append(e.worker)
        if unit.state is not UnitState.DONE:
            unit.state = UnitState.RUNNING
        w = self._worker(e.worker)
        w.current[e.attempt_id] = e.unit_id
        w.current_chapter = e.chapter_index
        self._worker_label(w)
        chapter = self.chapters.get(e.chapter_index)
        if chapter is not None:
            chapter.attempts += 1
            if e.worker not in chapter.workers:
                chapter.workers.append(e.worker)
        self._recount_chapter(e.chapter_index)
        self._recount()

    def _end_attempt(self, attempt_id: int, unit_id: str, worker_name: str) -> Optional[UnitView]:
        unit = self.units.get(unit_id)
        if unit is not None:
            unit.running.pop(attempt_id, None)
        w = self._worker(worker_name)
        w.current.pop(attempt_id, None)
        if w.current:
            last = next(reversed(w.current.values()))
            last_unit = self.units.get(last)
            w.current_chapter = last_unit.chapter_index if last_unit else w.current_chapter
        else:
            w.current_chapter = None
        self._worker_label(w)
        return unit

    def _settle(self, unit: UnitView) -> None:
        """A unit with no attempt left running and not done goes back to waiting."""
        if unit.state is UnitState.RUNNING and not unit.running:
            unit.state = UnitState.PENDING

    def _unit_done(self, e: ev.UnitDone, now: float) -> None:
        unit = self._end_attempt(e.attempt_id, e.unit_id, e.worker)
        if unit is None:
            unit = self._unit(e.unit_id, e.chapter_index)
        if unit.state is not UnitState.DONE:
            unit.state, unit.audio_seconds, unit.last_error = UnitState.DONE, e.audio_seconds, ""
        w = self._worker(e.worker)
        w.units_done += 1
        w.audio_seconds += e.audio_seconds
        w.speed_estimate = e.speed_estimate if e.speed_estimate is not None else w.speed_estimate
        w.recent.append((e.unit_id, "done", e.audio_seconds))
        w.window.append((now, e.audio_seconds, e.characters or unit.characters))
        self._trim_window(w, now)
        self.overall.units_synthesized += 1
        self.overall.audio_synthesized += e.audio_seconds
        self._recount_chapter(unit.chapter_index)
        self._recount()

    def _attempt_failed(self, e: ev.AttemptFailed, now: float) -> None:
        unit = self._end_attempt(e.attempt_id, e.unit_id, e.worker) or self._unit(e.unit_id, e.chapter_index)
        unit.last_error = printable(e.error)
        if unit.state is not UnitState.DONE and not unit.running:
            unit.state = UnitState.QUARANTINED if e.quarantined else UnitState.FAILED_WAIT
        w = self._worker(e.worker)
        w.units_failed += 1
        w.recent.append((e.unit_id, "failed", 0.0))
        self._recount_chapter(unit.chapter_index)
        self._recount()

    def _attempt_over(self, e, now: float) -> None:
        unit = self._end_attempt(e.attempt_id, e.unit_id, e.worker)
        if unit is not None:
            self._settle(unit)
            self._recount_chapter(unit.chapter_index)
        self._recount()

    def _attempt_lost(self, e: ev.AttemptLost, now: float) -> None:
        unit = self._end_attempt(e.attempt_id, e.unit_id, e.worker)
        if unit is not None:
            if e.error:
                unit.last_error = printable(e.error)
            self._settle(unit)
            self._recount_chapter(unit.chapter_index)
        self._worker(e.worker).recent.append((e.unit_id, "lost", 0.0))
        self._recount()

    def _requeued(self, e: ev.UnitRequeued, now: float) -> None:
        unit = self.units.get(e.unit_id)
        if unit is not None and unit.state in (UnitState.FAILED_WAIT, UnitState.QUARANTINED) and not unit.running:
            unit.state = UnitState.PENDING
            self._recount_chapter(unit.chapter_index)
            self._recount()

    def _checked(self, e: ev.UnitChecked, now: float) -> None:
        unit = self._unit(e.unit_id, e.chapter_index)
        unit.passed, unit.unverified, unit.flagged, unit.retakes = e.passed, e.unverified, e.flagged, e.retakes
        self._recount_chapter(unit.chapter_index)
        self._recount()

    def _reopened(self, e: ev.ChapterReopened, now: float) -> None:
        for uid in e.unit_ids:
            unit = self.units.get(uid)
            if unit is None:
                continue
            unit.attempts, unit.last_error = 0, ""
            if e.redo or unit.state is not UnitState.DONE:
                unit.state = UnitState.RUNNING if unit.running else UnitState.PENDING
                unit.reused = False
                unit.audio_seconds = 0.0
                unit.passed = unit.unverified = unit.retakes = 0
                unit.flagged = ()
        chapter = self.chapters.get(e.chapter_index)
        if chapter is not None:
            chapter.written = False
            chapter.attempts = sum(self.units[u].attempts for u in chapter.unit_ids if u in self.units)
        self._recount_chapter(e.chapter_index)
        self._recount()

    def _dispatch(self, e: ev.DispatchChanged, now: float) -> None:
        self.overall.paused = e.paused
        for w in self.workers.values():
            self._worker_label(w)

    def _chapter_done(self, e: ev.ChapterDone, now: float) -> None:
        chapter = self.chapters.get(e.chapter_index)
        if chapter is not None:
            chapter.written = True

    def _assembly(self, e: ev.AssemblyStarted, now: float) -> None:
        self.overall.phase = "assembling"

    def _assembly_progress(self, e: ev.AssemblyProgress, now: float) -> None:
        self.overall.segments_done, self.overall.segments_total = e.segments_done, e.segments_total

    def _notice(self, e: ev.Notice, now: float) -> None:
        self.notices.append(ev.Notice(e.level, printable(e.message)))
        self.notices_total += 1

    def _finished(self, e: ev.RunFinished, now: float) -> None:
        self.overall.result = e
        self.overall.finished_at = now
        self.overall.phase = "finished"

    # ------------------------------------------------------------------ derived numbers

    def _recount_chapter(self, index: int) -> None:
        chapter = self.chapters.get(index)
        if chapter is None:
            return
        done = running = failed = quarantined = reused = 0
        audio = left = 0.0
        for uid in chapter.unit_ids:
            unit = self.units[uid]
            if unit.state is not UnitState.DONE:
                left += unit.est_seconds
            if unit.state is UnitState.DONE:
                done += 1
                audio += unit.audio_seconds
                reused += unit.reused
            elif unit.state is UnitState.RUNNING:
                running += 1
            elif unit.state is UnitState.FAILED_WAIT:
                failed += 1
            elif unit.state is UnitState.QUARANTINED:
                quarantined += 1
        chapter.done, chapter.running, chapter.failed, chapter.quarantined = done, running, failed, quarantined
        chapter.audio_seconds, chapter.est_left, chapter.reused = audio, left, reused
        units = [self.units[uid] for uid in chapter.unit_ids]
        chapter.passed = sum(u.passed for u in units)
        chapter.flagged = sum(len(u.flagged) for u in units)
        chapter.unverified = sum(u.unverified for u in units)

    def _recount(self) -> None:
        o = self.overall
        o.units_done = sum(c.done for c in self.chapters.values())
        o.units_running = sum(c.running for c in self.chapters.values())
        o.units_failed = sum(c.failed for c in self.chapters.values())
        o.units_quarantined = sum(c.quarantined for c in self.chapters.values())
        o.audio_done = sum(c.audio_seconds for c in self.chapters.values())
        o.units_reused = sum(c.reused for c in self.chapters.values())
        o.est_audio_left = sum(c.est_left for c in self.chapters.values())
        o.sentences_passed = sum(c.passed for c in self.chapters.values())
        o.sentences_flagged = sum(c.flagged for c in self.chapters.values())
        o.sentences_unverified = sum(c.unverified for c in self.chapters.values())
        o.retakes = sum(u.retakes for u in self.units.values())

    def _trim_window(self, w: WorkerView, now: float) -> None:
        while w.window and w.window[0][0] < now - THROUGHPUT_WINDOW:
            w.window.popleft()

    def worker_throughput(self, name: str, now: Optional[float] = None) -> tuple[float, float]:
        """(× real time, characters per second) of the worker over the last minute."""
        now = self.clock() if now is None else now
        w = self.workers[name]
        self._trim_window(w, now)
        if not w.window:
            return 0.0, 0.0
        span = min(THROUGHPUT_WINDOW, max(1.0, now - (self.overall.dispatch_started_at or now)))
        audio = sum(a for _, a, _ in w.window)
        chars = sum(c for _, _, c in w.window)
        return audio / span, chars / span

    def sample_history(self, now: Optional[float] = None) -> None:
        """Append each worker's current × real time to its sparkline history (call on a timer)."""
        now = self.clock() if now is None else now
        for name, w in self.workers.items():
            w.history.append(self.worker_throughput(name, now)[0])
        self.version += 1

    def elapsed(self, now: Optional[float] = None) -> float:
        now = self.clock() if now is None else now
        o = self.overall
        if o.started_at is None:
            return 0.0
        return (o.finished_at if o.finished_at is not None else now) - o.started_at

    def speed(self, now: Optional[float] = None) -> float:
        """Audio seconds synthesised per wall second since dispatch began (× real time)."""
        now = self.clock() if now is None else now
        o = self.overall
        if o.dispatch_started_at is None:
            return 0.0
        end = o.finished_at if o.finished_at is not None else now
        span = end - o.dispatch_started_at
        return o.audio_synthesized / span if span > 0 else 0.0

    def eta(self, now: Optional[float] = None) -> Optional[float]:
        """Seconds until every unit is done at the current speed; None until there is a speed."""
        if self.overall.finished_at is not None:
            return 0.0
        speed = self.speed(now)
        if speed <= 0:
            return None
        return self.overall.est_audio_left / speed

    def percent(self) -> float:
        o = self.overall
        return 100.0 * o.units_done / o.units_total if o.units_total else 0.0

    def flagged_sentences(self) -> list[FlaggedSentence]:
        """Every sentence still flagged, in book order, placed by the audio of the units before it."""
        return place_flagged(
            (uid, chapter.index, chapter.title, self.units[uid].audio_seconds, self.units[uid].flagged)
            for chapter in sorted(self.chapters.values(), key=lambda c: c.index) for uid in chapter.unit_ids)

    def chapters_done(self) -> int:
        return sum(1 for c in self.chapters.values() if c.unit_ids and c.state is UnitState.DONE)
