"""The run driver: book → units → workers → journal → audiobook, publishing events.

The scheduling decisions live in the pure :class:`~tui.core.scheduler.Scheduler`;
this module only performs them: it sends requests, stores verified audio,
encodes chapters as they complete, and turns failures into scheduler inputs.
Front ends (headless, Textual) call :class:`BookRun`'s manual actions and
listen on its :class:`~tui.core.events.EventBus`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from remote_worker.protocol import TTSConfig

from ..assembly.audiobook import finish_audiobook
from ..assembly.errors import AssemblyError
from ..assembly.ffmpeg import find_ffmpeg
from ..assembly.formats import check_bitrate
from ..assembly.encoder import ChapterEncoder
from ..assembly.model import ChapterAudio, UnitAudio
from ..book.fingerprint import book_fingerprint
from ..book.ingest import load_book
from ..book.lexicon import load_lexicon
from ..book.model import Book, BookError, WorkUnit
from ..book.selection import parse_chapter_selection, select_chapters
from ..book.units import make_units, units_target_for
from . import events as ev
from .client import (
    SynthesisSettings,
    WorkerAuthError,
    UnitFailed,
    UnitRejected,
    WorkerBusy,
    WorkerClient,
    WorkerError,
    WorkerUnreachable,
)
from .cluster import ClusterError, ClusterSource, WorkerEndpoint
from .journal import Journal, JournalError, StoredAudio, session_dir_for
from .scheduler import Assignment, Scheduler, SchedulerConfig, UnitInfo, UnitState, WorkerState

__all__ = ["RunOptions", "BookRun", "RunError", "run_book", "default_output_for", "prepare_book"]

FORMATS = ("m4b", "mp3", "opus", "flac")


class RunError(Exception):
    """Bad input or configuration for a run; ``str()`` is one line for the user (exit 2)."""


@dataclass
class RunOptions:
    input: Path
    output: Optional[Path] = None
    fmt: str = "m4b"
    bitrate: str = "64k"
    chapters: Optional[str] = None
    include_all: bool = False
    lexicon: Optional[Path] = None
    engine: str = "piper"
    voice: Optional[str] = None
    length_scale: Optional[float] = None
    unit_chars: Optional[int] = None
    max_sentence_chars: int = 400
    split_chapters: bool = False
    subtitles: Optional[str] = None
    sentence_gap_ms: int = 250
    paragraph_gap_ms: int = 600
    chapter_gap_ms: int = 1200
    #: audio seconds per encoded segment, from long (few ffmpeg runs) early in a run down to
    #: short near its end (little left to encode after the last unit)
    segment_seconds_max: float = 300.0
    segment_seconds_min: float = 20.0
    telemetry_interval: float = 2.0
    give_up_after: float = 180.0
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)


def default_output_for(input_path: Path, fmt: str) -> Path:
    """``book.epub`` → ``book.m4b`` next to the input."""
    return input_path.with_suffix("." + fmt)


def prepare_book(options: RunOptions) -> Book:
    """Load and select chapters; raises BookError with a one-line message."""
    book = load_book(options.input, include_all=options.include_all)
    if options.chapters:
        book = select_chapters(book, parse_chapter_selection(options.chapters, len(book.chapters)))
    if not book.chapters:
        raise BookError(f"{options.input.name}: no chapters left to read")
    return book


def _engine_key(options: RunOptions) -> str:
    return json.dumps(
        {"engine": options.engine, "voice": options.voice or "", "length_scale": options.length_scale},
        sort_keys=True,
    )


def _audio_key(unit: WorkUnit, trailing_gap_ms: int, options: RunOptions) -> str:
    """Journal key: the unit's content hash plus everything else that shapes its audio."""
    extra = f"{unit.content_hash}|{options.sentence_gap_ms}|{options.paragraph_gap_ms}|{trailing_gap_ms}|flac"
    return hashlib.sha256(extra.encode()).hexdigest()[:32]


@dataclass
class _Attempt:
    assignment: Assignment
    task: "asyncio.Task[None]"
    journal_row: int


class BookRun:
    """One conversion: owns the scheduler, the journal, the worker clients and the encoder."""

    def __init__(self, options: RunOptions, cluster: ClusterSource, bus: Optional[ev.EventBus] = None) -> None:
        if options.fmt not in FORMATS:
            raise RunError(f"unknown output format {options.fmt!r}; choose one of {', '.join(FORMATS)}")
        if options.subtitles not in (None, "vtt", "srt"):
            raise RunError(f"unknown subtitle format {options.subtitles!r}; choose vtt or srt")
        self.options = options
        self.cluster = cluster
        self.bus = bus or ev.EventBus()
        self.output = Path(options.output) if options.output else default_output_for(options.input, options.fmt)
        self.session_dir = session_dir_for(self.output)
        self.book: Optional[Book] = None
        self.units: list[WorkUnit] = []
        self.units_by_id: dict[str, WorkUnit] = {}
        self.trailing_gap: dict[str, int] = {}
        self.journal: Optional[Journal] = None
        self.sched: Optional[Scheduler] = None
        self.clients: dict[str, WorkerClient] = {}
        self.endpoints: dict[str, WorkerEndpoint] = {}
        self.audio: dict[str, StoredAudio] = {}  # unit id → verified audio
        self._attempts: dict[int, _Attempt] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._kick = asyncio.Event()
        self._encoder: Optional[ChapterEncoder] = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2a-encode")
        # chapter index → encoded segments (runs of consecutive finished units), in order
        self._segments: dict[int, list[asyncio.Future]] = {}
        self._segment_next: dict[int, int] = {}  # chapter index → position of its first unencoded unit
        self._chapter_units: dict[int, list[WorkUnit]] = {}
        self._per_worker: dict[str, dict[str, float]] = {}
        self._synthesized = 0
        self._reused = 0
        self._last_unit_done = 0.0
        self._started = 0.0
        self._last_up = 0.0
        self.session_id = ""
        self._lexicon = None
        self._fatal = ""
        self._excluded: dict[str, str] = {}
        self._expected_workers = 1  # sizes units; known once the cluster has started
        try:
            check_bitrate(options.bitrate)
            find_ffmpeg()
        except AssemblyError as exc:
            raise RunError(str(exc)) from None

    # ------------------------------------------------------------------ setup
    def load(self) -> None:
        """Read the book, select chapters, load the lexicon (blocking): done before any worker
        starts, so bad input fails fast."""
        opts = self.options
        self._lexicon = load_lexicon(opts.lexicon) if opts.lexicon else None
        self.book = prepare_book(opts)

    def prepare(self) -> None:
        """Cut units and open the journal (blocking; call in a thread)."""
        opts = self.options
        if self.book is None:
            self.load()
        book, lexicon = self.book, self._lexicon
        assert book is not None
        try:
            self.session_dir.mkdir(parents=True, exist_ok=True)
            self.journal = Journal(self.session_dir)
        except (OSError, JournalError) as exc:
            raise RunError(f"cannot use session folder {self.session_dir}: {exc}") from None
        fingerprint = book_fingerprint(opts.input)
        self.session_id = fingerprint[:12]
        total_chars = sum(len(p) for ch in book.chapters for p in ch.paragraphs)
        target = opts.unit_chars or self._resumed_unit_chars() or units_target_for(
            total_chars, max(1, self._expected_workers))
        units = make_units(
            book, engine_key=_engine_key(opts), max_sentence_chars=opts.max_sentence_chars,
            target_chars=target, lexicon=lexicon,
        )
        if not units:
            raise BookError(f"{opts.input.name}: nothing to read aloud")
        keyed: list[WorkUnit] = []
        for i, unit in enumerate(units):
            nxt = units[i + 1] if i + 1 < len(units) else None
            if nxt is None or nxt.chapter_index != unit.chapter_index:
                gap = opts.chapter_gap_ms
            elif 0 in nxt.paragraph_starts:
                gap = opts.paragraph_gap_ms
            else:
                gap = opts.sentence_gap_ms
            keyed_unit = dataclasses.replace(unit, content_hash=_audio_key(unit, gap, opts))
            self.trailing_gap[unit.id] = gap
            keyed.append(keyed_unit)
        self.units = keyed
        self.units_by_id = {u.id: u for u in keyed}
        self.journal.record_settings(fingerprint, {
            "engine_key": _engine_key(opts), "fmt": opts.fmt, "chapters": opts.chapters or "",
            "include_all": opts.include_all, "unit_chars": target,
        })
        for unit in keyed:
            stored = self.journal.verified_audio(unit.content_hash)
            if stored is not None:
                self.audio[unit.id] = stored
        self.journal.sync_units(keyed)

    def _resumed_unit_chars(self) -> Optional[int]:
        """Keep the unit size of an earlier run into the same output, so its audio is reused
        even when a different number of workers is available this time."""
        assert self.journal is not None
        # Not tied to the book's fingerprint: an edited book keeps its unit sizes, so only the
        # units whose text changed are redone.
        try:
            settings = json.loads(self.journal.get_meta("settings") or "{}")
        except ValueError:
            return None
        if settings.get("engine_key") != _engine_key(self.options):
            return None
        value = settings.get("unit_chars")
        return int(value) if isinstance(value, int) and value > 0 else None

    # ------------------------------------------------------------------ manual actions (for front ends)
    def retry_chapter(self, chapter_index: int) -> int:
        assert self.sched is not None
        n = self.sched.retry_chapter(chapter_index)
        self._kick.set()
        return n

    def requeue_chapter(self, chapter_index: int, *, redo: bool = False) -> int:
        """Cancel the chapter's in-flight work and send it again (``redo`` also redoes finished units)."""
        assert self.sched is not None
        cancelled = self.sched.requeue_chapter(chapter_index, redo=redo)
        self._cancel(cancelled)
        if redo:
            for unit in self.units:
                if unit.chapter_index == chapter_index:
                    self.audio.pop(unit.id, None)
            self._segments.pop(chapter_index, None)
            self._segment_next.pop(chapter_index, None)
        self._kick.set()
        return len(cancelled)

    def pause(self) -> None:
        assert self.sched is not None
        self.sched.pause()
        self.bus.publish(ev.Notice("info", "dispatch paused"))

    def resume(self) -> None:
        assert self.sched is not None
        self.sched.resume()
        self.bus.publish(ev.Notice("info", "dispatch resumed"))
        self._kick.set()

    def drain(self, worker: str) -> None:
        assert self.sched is not None
        self.sched.drain(worker)
        self.bus.publish(ev.WorkerState(worker, "draining", self.endpoints[worker].host))

    def undrain(self, worker: str) -> None:
        assert self.sched is not None
        self.sched.undrain(worker)
        self.bus.publish(ev.WorkerState(worker, "up", self.endpoints[worker].host))
        self._kick.set()

    # ------------------------------------------------------------------ the run
    async def run(self) -> ev.RunFinished:
        self._started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            if self.book is None:
                await loop.run_in_executor(None, self.load)
            endpoints = await self.cluster.start()
            if self.journal is None:
                self._expected_workers = len(endpoints)
                await loop.run_in_executor(None, self.prepare)
            return await self._run_with(endpoints)
        finally:
            for client in self.clients.values():
                await client.aclose()
            await self.cluster.stop()
            self._pool.shutdown(wait=False, cancel_futures=True)
            if self.journal is not None:
                self.journal.close()

    async def _run_with(self, endpoints: list[WorkerEndpoint]) -> ev.RunFinished:
        assert self.book is not None and self.journal is not None
        loop = asyncio.get_running_loop()
        done_ids = [u.id for u in self.units if u.id in self.audio]
        infos = [
            UnitInfo(u.id, u.chapter_index, order, u.est_seconds) for order, u in enumerate(self.units)
        ]
        self.sched = Scheduler(infos, self.options.scheduler, done=done_ids)
        self._encoder = ChapterEncoder(self.session_dir / "chapters", fmt=self.options.fmt,
                                       bitrate=self.options.bitrate)
        for ep in endpoints:
            self.endpoints[ep.name] = ep
            self.clients[ep.name] = WorkerClient(ep)
        healthy = await asyncio.gather(*[self._initial_probe(name) for name in self.clients])
        if not any(healthy) and not self.sched.is_finished():
            if self._excluded:
                raise ClusterError("no usable worker: " + "; ".join(f"{k} {v}" for k, v in self._excluded.items()))
            raise ClusterError("no worker answered /health")
        self._last_up = loop.time()

        self.bus.publish(ev.RunStarted(
            title=self.book.meta.title, total_units=len(self.units), total_chapters=len(self.book.chapters),
            already_done=len(done_ids), est_audio_seconds=sum(u.est_seconds for u in self.units),
            workers=tuple(self.clients), chapter_titles=tuple(ch.title for ch in self.book.chapters),
        ))
        for warning in getattr(self.book, "warnings", []):
            self.bus.publish(ev.Notice("warning", warning))
        for unit in self.units:
            if unit.id in self.audio:
                self._reused += 1
                self.bus.publish(ev.UnitDone(unit.id, unit.chapter_index, self.audio[unit.id].worker,
                                             self.audio[unit.id].duration, 0.0, reused=True))
        for unit in self.units:
            self._chapter_units.setdefault(unit.chapter_index, []).append(unit)
        for chapter in self.book.chapters:
            self._encode_ready_segments(chapter.index)
            if self.sched.chapter_done(chapter.index):
                self._publish_chapter_done(chapter.index)

        telemetry = asyncio.ensure_future(self._telemetry_loop())
        gave_up = ""
        try:
            gave_up = await self._dispatch_loop()
        finally:
            telemetry.cancel()
            self._cancel(list(self.sched.in_flight()))
            for attempt in list(self._attempts.values()):
                attempt.task.cancel()
            await asyncio.gather(*[a.task for a in self._attempts.values()], return_exceptions=True)
            for probe in self._probes.values():
                probe.cancel()
        return await self._assemble(gave_up)

    async def _initial_probe(self, name: str) -> bool:
        """Health, token and engine of one worker; a worker that cannot serve this run is left out."""
        assert self.sched is not None
        self.sched.add_worker(name)
        client = self.clients[name]
        try:
            health = await client.health(timeout=10.0)
            status = await client.status(timeout=10.0)
        except WorkerAuthError as exc:
            self._exclude(name, str(exc))
            return False
        except WorkerError as exc:
            self.sched.worker_lost(name, asyncio.get_running_loop().time())
            self.bus.publish(ev.WorkerState(name, "down", self.endpoints[name].host, str(exc)))
            return False
        engine = health.engine or status.engine
        if engine and engine != self.options.engine:
            self._exclude(name, f"runs engine {engine!r}, this run asks for {self.options.engine!r}")
            return False
        self.bus.publish(ev.WorkerState(name, "up", self.endpoints[name].host, engine))
        return True

    def _exclude(self, name: str, reason: str) -> None:
        """Take a worker out of this run for good (it would only fail every unit)."""
        assert self.sched is not None
        self._excluded[name] = reason
        self._cancel(self.sched.worker_lost(name, asyncio.get_running_loop().time()))
        self.bus.publish(ev.WorkerState(name, "down", self.endpoints[name].host, reason))
        self.bus.publish(ev.Notice("error", f"worker {name} left out: {reason}"))

    async def _dispatch_loop(self) -> str:
        """Hand out work until every unit is done or quarantined; returns a reason if it gave up."""
        assert self.sched is not None
        loop = asyncio.get_running_loop()
        while not self.sched.is_finished():
            now = loop.time()
            if self._fatal:
                return self._fatal
            for worker in self.sched.workers_to_probe(now):
                if worker not in self._probes and worker not in self._excluded:
                    self._probes[worker] = asyncio.ensure_future(self._probe(worker))
            for assignment in self.sched.poll_assignments(now):
                self._start_attempt(assignment)
            if any(self.sched.worker_state(w) != WorkerState.DOWN for w in self.sched.workers()):
                self._last_up = now
            elif len(self._excluded) == len(self.clients):
                return "no usable worker left: " + "; ".join(self._excluded.values())
            elif now - self._last_up > self.options.give_up_after:
                return f"no worker reachable for {self.options.give_up_after:.0f} s"
            wake = self.sched.next_wakeup(now)
            timeout = 1.0 if wake is None else min(1.0, max(0.005, wake - now))
            self._kick.clear()
            try:
                await asyncio.wait_for(self._kick.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return ""

    def _start_attempt(self, assignment: Assignment) -> None:
        assert self.journal is not None
        unit = self.units_by_id[assignment.unit_id]
        row = self.journal.attempt_started(unit, assignment.worker_id, speculative=assignment.speculative)
        task = asyncio.ensure_future(self._attempt(assignment, unit, row))
        self._attempts[assignment.attempt_id] = _Attempt(assignment, task, row)
        task.add_done_callback(lambda t, a=assignment, r=row: self._attempt_task_done(t, a, r))
        self.bus.publish(ev.UnitStarted(unit.id, unit.chapter_index, assignment.worker_id,
                                        self.sched.unit_attempts(unit.id) if self.sched else 0,
                                        assignment.speculative))

    def _attempt_task_done(self, task: "asyncio.Task[None]", a: Assignment, row: int) -> None:
        """A task cancelled before its first step never ran its own cleanup: do it here."""
        if a.attempt_id not in self._attempts:
            return
        self._attempts.pop(a.attempt_id, None)
        if self.journal is not None and self.sched is not None:
            self.journal.attempt_ended(row, "cancelled")
            self.sched.on_cancelled(a.attempt_id)
        self._kick.set()

    def _cancel(self, assignments: list[Assignment]) -> None:
        for assignment in assignments:
            attempt = self._attempts.get(assignment.attempt_id)
            if attempt is not None and not attempt.task.done():
                attempt.task.cancel()

    async def _attempt(self, a: Assignment, unit: WorkUnit, row: int) -> None:
        assert self.sched is not None and self.journal is not None
        loop = asyncio.get_running_loop()
        client = self.clients[a.worker_id]
        settings = SynthesisSettings(
            tts=TTSConfig(
                voice_name=self.options.voice, language=self.book.meta.language if self.book else None,
                model_name=self.options.engine, length_scale=self.options.length_scale,
            ),
            sentence_gap_ms=self.options.sentence_gap_ms,
            paragraph_gap_ms=self.options.paragraph_gap_ms,
            trailing_gap_ms=self.trailing_gap.get(unit.id, 0),
        )
        try:
            try:
                result = await client.synthesize(unit, settings)
                if self.sched.unit_state(unit.id) == UnitState.DONE:
                    self.journal.attempt_ended(row, "discarded")
                    self.sched.on_cancelled(a.attempt_id)
                    return
                stored = self.journal.store_audio(
                    unit, result.audio, sha256=result.response.sha256, fmt=result.response.format,
                    worker=a.worker_id, timings=[(t.start, t.end) for t in result.response.sentence_timings],
                )
            except asyncio.CancelledError:
                self.journal.attempt_ended(row, "cancelled")
                self.sched.on_cancelled(a.attempt_id)
                raise
            except WorkerUnreachable as exc:
                self.journal.attempt_ended(row, "lost", str(exc))
                if self.sched.worker_state(a.worker_id) != WorkerState.DOWN:
                    others = [x for x in self.sched.worker_lost(a.worker_id, loop.time())
                              if x.attempt_id != a.attempt_id]
                    self._cancel(others)
                    self.bus.publish(ev.WorkerState(a.worker_id, "down", self.endpoints[a.worker_id].host,
                                                    str(exc)))
                else:
                    self.sched.on_cancelled(a.attempt_id)
                return
            except WorkerAuthError as exc:
                self.journal.attempt_ended(row, "failed", str(exc))
                self.sched.on_cancelled(a.attempt_id)
                if a.worker_id not in self._excluded:
                    self._exclude(a.worker_id, str(exc))
                return
            except WorkerBusy as exc:
                self.journal.attempt_ended(row, "busy", str(exc))
                self.sched.on_busy(a.attempt_id, loop.time())
                return
            except (UnitFailed, UnitRejected, JournalError) as exc:
                self.journal.attempt_ended(row, "failed", str(exc))
                self._cancel(self.sched.on_failure(a.attempt_id, loop.time(), error=str(exc),
                                                   worker_fault=not isinstance(exc, UnitRejected)))
                quarantined = self.sched.unit_state(unit.id) == UnitState.QUARANTINED
                if quarantined:
                    self.journal.set_unit_state(unit.id, "quarantined", str(exc))
                self.bus.publish(ev.UnitFailed(unit.id, unit.chapter_index, a.worker_id, str(exc), quarantined))
                if self.sched.worker_state(a.worker_id) == WorkerState.DOWN:
                    self.bus.publish(ev.WorkerState(a.worker_id, "down", self.endpoints[a.worker_id].host,
                                                    "repeated failures"))
                return
            except (OSError, sqlite3.Error) as exc:
                # our own disk or journal: every unit would fail the same way, so stop cleanly
                self._fatal = f"cannot keep audio in {self.session_dir}: {exc}"
                self.sched.on_cancelled(a.attempt_id)
                return
            except Exception as exc:  # noqa: BLE001 - never leave a unit stuck in RUNNING
                error = f"{type(exc).__name__}: {exc}"
                try:
                    self.journal.attempt_ended(row, "failed", error)
                finally:
                    self._cancel(self.sched.on_failure(a.attempt_id, loop.time(), error=error, worker_fault=False))
                self.bus.publish(ev.UnitFailed(unit.id, unit.chapter_index, a.worker_id, error,
                                               self.sched.unit_state(unit.id) == UnitState.QUARANTINED))
                return
            losers = self.sched.on_success(a.attempt_id, loop.time(), audio_seconds=stored.duration)
            self._cancel(losers)
            self.journal.attempt_ended(row, "done")
            self.audio[unit.id] = stored
            self._synthesized += 1
            self._last_unit_done = time.monotonic()
            stats = self._per_worker.setdefault(a.worker_id, {"units": 0, "audio_seconds": 0.0,
                                                              "wall_seconds": 0.0})
            stats["units"] += 1
            stats["audio_seconds"] += stored.duration
            stats["wall_seconds"] += result.wall_seconds
            self.bus.publish(ev.UnitDone(unit.id, unit.chapter_index, a.worker_id, stored.duration,
                                         result.wall_seconds))
            self._encode_ready_segments(unit.chapter_index)
            if self.sched.chapter_done(unit.chapter_index):
                self._publish_chapter_done(unit.chapter_index)
        finally:
            self._attempts.pop(a.attempt_id, None)
            self._kick.set()

    async def _probe(self, worker: str) -> None:
        assert self.sched is not None
        try:
            await self.clients[worker].health(timeout=5.0)
            await self.clients[worker].status(timeout=5.0)
        except WorkerAuthError as exc:
            self._exclude(worker, str(exc))
        except WorkerError:
            self.sched.worker_lost(worker, asyncio.get_running_loop().time())  # restarts its re-probe timer
        else:
            self.sched.worker_up(worker)
            self.bus.publish(ev.WorkerState(worker, "up", self.endpoints[worker].host, "back"))
        finally:
            self._probes.pop(worker, None)
            self._kick.set()

    async def _telemetry_loop(self) -> None:
        assert self.sched is not None
        while True:
            await asyncio.sleep(self.options.telemetry_interval)
            for name, client in list(self.clients.items()):
                if self.sched.worker_state(name) == WorkerState.DOWN:
                    continue
                try:
                    st = await client.status(timeout=2.0)
                except WorkerError:
                    continue
                self.bus.publish(ev.WorkerTelemetry(
                    name, st.status, st.engine, f"{st.device}/{st.provider}" if st.provider else st.device,
                    st.gpu_name, st.gpu_memory_used_mb, st.gpu_memory_total_mb, st.units_done,
                    st.audio_seconds, st.synthesis_seconds,
                ))

    # ------------------------------------------------------------------ assembly
    def _title_of(self, chapter_index: int) -> str:
        assert self.book is not None
        return next(ch.title for ch in self.book.chapters if ch.index == chapter_index)

    def _submit_segment(self, chapter_index: int, units: list[WorkUnit]) -> None:
        assert self._encoder is not None
        audio = ChapterAudio(chapter_index, self._title_of(chapter_index),
                             [UnitAudio(self.audio[u.id].path, list(self.audio[u.id].sentences)) for u in units])
        future = asyncio.get_running_loop().run_in_executor(self._pool, self._encoder.encode, audio)
        self._segments.setdefault(chapter_index, []).append(future)

    def _encode_ready_segments(self, chapter_index: int) -> None:
        """Encode each run of consecutive finished units once it holds enough audio (or ends the
        chapter), so that after the last unit only a short segment and the join remain."""
        units = self._chapter_units.get(chapter_index, [])
        start = self._segment_next.get(chapter_index, 0)
        remaining = sum(u.est_seconds for u in self.units if u.id not in self.audio)
        target = min(self.options.segment_seconds_max, max(self.options.segment_seconds_min, remaining / 3))
        seconds = 0.0
        i = start
        while i < len(units) and units[i].id in self.audio:
            seconds += self.audio[units[i].id].duration
            i += 1
            if seconds >= target or i == len(units):
                self._submit_segment(chapter_index, units[start:i])
                start, seconds = i, 0.0
        self._segment_next[chapter_index] = start

    def _publish_chapter_done(self, chapter_index: int) -> None:
        seconds = sum(self.audio[u.id].duration for u in self._chapter_units.get(chapter_index, [])
                      if u.id in self.audio)
        self.bus.publish(ev.ChapterDone(chapter_index, self._title_of(chapter_index), seconds))

    async def _assemble(self, gave_up: str) -> ev.RunFinished:
        assert self.book is not None and self.sched is not None and self.journal is not None
        quarantined = tuple(self.sched.quarantined())
        encoded = []
        for chapter in self.book.chapters:
            # what is left of a partial chapter (quarantined or abandoned units): its runs of finished units
            units = self._chapter_units.get(chapter.index, [])
            run: list[WorkUnit] = []
            for unit in units[self._segment_next.get(chapter.index, 0):] + [None]:  # type: ignore[list-item]
                if unit is not None and unit.id in self.audio:
                    run.append(unit)
                elif run:
                    self._submit_segment(chapter.index, run)
                    run = []
            self._segment_next[chapter.index] = len(units)
        outputs: list[Path] = []
        try:
            for chapter in self.book.chapters:
                for future in self._segments.get(chapter.index, []):
                    encoded.append(await future)
            if encoded:
                self.bus.publish(ev.AssemblyStarted(str(self.output)))
                outputs = await asyncio.get_running_loop().run_in_executor(
                    self._pool,
                    lambda: finish_audiobook(encoded, self.book.meta, self.output, fmt=self.options.fmt,
                                             split_chapters=self.options.split_chapters,
                                             subtitles=self.options.subtitles),
                )
        except AssemblyError as exc:
            gave_up = f"{gave_up + '; ' if gave_up else ''}assembly failed: {exc} (unit audio is kept; rerun to retry)"
        finished = time.monotonic()
        missing = [u.id for u in self.units if u.id not in self.audio]
        ok = not missing and not gave_up
        self.journal.finish_run("complete" if ok else "partial")
        audio_seconds = sum(a.duration for a in self.audio.values())
        tail = finished - self._last_unit_done if self._last_unit_done else 0.0
        error = gave_up or (f"{len(missing)} unit(s) missing: {', '.join(missing[:5])}" if missing else "")
        result = ev.RunFinished(
            ok=ok, outputs=tuple(str(p) for p in outputs), audio_seconds=audio_seconds,
            wall_seconds=finished - self._started, units_total=len(self.units),
            units_synthesized=self._synthesized, units_reused=self._reused, quarantined=quarantined,
            per_worker={k: dict(v) for k, v in self._per_worker.items()}, tail_seconds=tail, error=error,
        )
        self.bus.publish(result)
        return result


async def run_book(
    options: RunOptions,
    cluster: ClusterSource,
    *,
    bus: Optional[ev.EventBus] = None,
) -> ev.RunFinished:
    """Convenience: build a :class:`BookRun` and run it to the end."""
    return await BookRun(options, cluster, bus).run()
