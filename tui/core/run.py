"""The run driver: book → units → workers → journal → audiobook, publishing events.

The scheduling decisions live in the pure :class:`~tui.core.scheduler.Scheduler`;
attempts in :mod:`~tui.core.attempts`, encoding in :mod:`~tui.core.encoding`,
telemetry in :mod:`~tui.core.telemetry`. This module wires them: it starts the
cluster, probes workers, runs the dispatch loop, applies commands and writes
the book. Front ends never use it directly: they drive a
:class:`~tui.core.session.RunSession`.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

from remote_worker.protocol import TTSConfig

from ..assembly.audiobook import finish_audiobook
from ..assembly.encoder import ChapterEncoder
from ..assembly.errors import AssemblyError
from ..book.fingerprint import book_fingerprint
from ..book.lexicon import load_lexicon
from ..book.model import Book, WorkUnit
from . import events as ev
from .attempts import AttemptHooks, AttemptRunner
from .client import SynthesisSettings, WorkerAuthError, WorkerClient, WorkerError
from .cluster import ClusterError, ClusterSource, WorkerEndpoint
from .encoding import SegmentPipeline
from .journal import Journal, JournalError, StoredAudio, session_dir_for
from .journal_io import JournalIO
from .options import FORMATS, RunError, RunOptions, default_output_for, validate_options
from .planning import UnitPlan, engine_key, plan_units, prepare_book, request_costs, resumed_profile
from .run_commands import RunCommands
from .scheduler import Scheduler, UnitInfo, WorkerState
from .stats import RunStats
from .telemetry import telemetry_loop
from .voices import VoiceError, VoiceUploader, load_voice_sample

__all__ = ["RunOptions", "BookRun", "RunError", "run_book", "default_output_for", "prepare_book", "FORMATS"]


class BookRun(RunCommands):
    """One conversion: owns the scheduler, the journal, the worker clients and the encoder.

    Commands reach it through :meth:`~tui.core.run_commands.RunCommands.apply` (the session queues
    those that arrive before the scheduler exists and applies them as soon as it does).
    """

    def __init__(self, options: RunOptions, cluster: ClusterSource, bus: Optional[ev.EventBus] = None) -> None:
        validate_options(options)
        self.options = options
        self.cluster = cluster
        self.bus = bus or ev.EventBus()
        self.output = options.output_path
        self.session_dir = session_dir_for(self.output)
        self.book: Optional[Book] = None
        self.plan: Optional[UnitPlan] = None
        self.units_by_id: dict[str, WorkUnit] = {}
        self.journal: Optional[JournalIO] = None
        self.sched: Optional[Scheduler] = None
        self.attempts: Optional[AttemptRunner] = None
        self.pipeline: Optional[SegmentPipeline] = None
        self.clients: dict[str, WorkerClient] = {}
        self.endpoints: dict[str, WorkerEndpoint] = {}
        self.audio: dict[str, StoredAudio] = {}  # unit id → verified audio
        self.stats = RunStats()
        self.session_id = ""
        self._lexicon = None
        self.voices: Optional[VoiceUploader] = None  # --voice-sample: uploaded once per worker
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._side_tasks: set[asyncio.Task] = set()
        self._kick = asyncio.Event()
        self._encode_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2a-encode")
        self._fatal = ""
        self._excluded: dict[str, str] = {}
        self._silent: dict[str, int] = {}  # worker -> telemetry rounds in a row without an answer
        self._probe_failures: dict[str, int] = {}  # worker -> re-probes in a row that failed
        self._rebootstrapping: set[str] = set()
        self._last_rebootstrap: dict[str, float] = {}
        self._stopping = False
        self._aborting = False
        self._expected_workers = 1  # sizes units; known once the cluster has started
        self._left: Optional[float] = None  # see _seconds_left; None: to be summed again
        self._round_trips: list[float] = []  # seconds per /health round trip, one per worker (sizes units)

    # ------------------------------------------------------------------ setup
    def load(self) -> None:
        """Read the book, select chapters, load the lexicon (blocking): done before any worker
        starts, so bad input fails fast."""
        self._lexicon = load_lexicon(self.options.lexicon) if self.options.lexicon else None
        if self.options.voice_sample is not None:
            try:
                self.voices = VoiceUploader(load_voice_sample(self.options.voice_sample))
            except VoiceError as exc:
                raise RunError(str(exc)) from None
        self.book = prepare_book(self.options)

    def book_loaded_event(self) -> ev.BookLoaded:
        assert self.book is not None
        return ev.BookLoaded(
            self.book.meta.title, ", ".join(self.book.meta.authors), str(self.output),
            tuple(ev.ChapterInfo(ch.index, ch.title, sum(len(p.split()) for p in ch.paragraphs))
                  for ch in self.book.chapters),
        )

    def prepare(self) -> None:
        """Cut units and open the journal (blocking; call in a thread)."""
        opts = self.options
        if self.book is None:
            self.load()
        assert self.book is not None
        try:
            self.session_dir.mkdir(parents=True, exist_ok=True)
            journal = Journal(self.session_dir)
        except (OSError, JournalError) as exc:
            raise RunError(f"cannot use session folder {self.session_dir}: {exc}") from None
        fingerprint = book_fingerprint(opts.input)
        self.session_id = fingerprint[:12]
        try:
            settings = json.loads(journal.get_meta("settings") or "{}")
        except ValueError:
            settings = {}
        # an earlier run into the same output keeps its unit sizes, so its audio is reused even with a
        # different number of workers (and an edited book redoes only the units whose text changed)
        plan = plan_units(self.book, opts, workers=self._expected_workers, lexicon=self._lexicon,
                          resumed=resumed_profile(settings, opts),
                          costs=request_costs(opts, round_trips_s=self._round_trips))
        journal.record_settings(fingerprint, {
            "engine_key": engine_key(opts), "fmt": opts.fmt, "chapters": opts.chapters or "",
            "include_all": opts.include_all, **plan.sizing_settings(),
        })
        for unit in plan.units:
            stored = journal.verified_audio(unit.content_hash)
            if stored is not None:
                self.audio[unit.id] = stored
        journal.sync_units(plan.units)
        self.plan = plan
        self.units_by_id = plan.by_id
        self.journal = JournalIO(journal)

    # ------------------------------------------------------------------ the run
    async def run(self, *, on_ready: Optional[Callable[[], None]] = None) -> ev.RunFinished:
        """Convert the book; ``on_ready`` is called once the scheduler exists (queued commands apply then)."""
        self.stats = RunStats()
        loop = asyncio.get_running_loop()
        try:
            if self.book is None:
                await loop.run_in_executor(None, self.load)
            self.bus.publish(self.book_loaded_event())
            self.bus.publish(ev.RunPhase("starting", "starting workers"))
            bind = getattr(self.cluster, "bind_events", None)
            if bind is not None:
                bind(self.bus.publish)
            endpoints = await self.cluster.start()
            if self.journal is None:
                self._expected_workers = len(endpoints)
                self._round_trips = await _round_trips(endpoints)
                await loop.run_in_executor(None, self.prepare)
            return await self._run_with(endpoints, on_ready)
        finally:
            for task in list(self._side_tasks):
                task.cancel()
            for client in self.clients.values():
                await client.aclose()
            await self.cluster.stop()
            self._encode_pool.shutdown(wait=False, cancel_futures=True)
            if self.journal is not None:
                self.journal.close()

    def _settings_for(self, unit: WorkUnit) -> SynthesisSettings:
        opts = self.options
        return SynthesisSettings(
            tts=TTSConfig(voice_name=opts.voice,
                          language=opts.language or (self.book.meta.language if self.book else None),
                          model_name=opts.engine, length_scale=opts.length_scale,
                          speaker_wav=self.voices.sample.sha256 if self.voices else None, speaker=opts.speaker),
            sentence_gap_ms=opts.sentence_gap_ms, paragraph_gap_ms=opts.paragraph_gap_ms,
            trailing_gap_ms=self.plan.trailing_gap_ms.get(unit.id, 0),
        )

    async def _prepare_worker(self, worker: str) -> None:
        """Before a worker's first unit: make sure it holds the voice sample (a GET, a PUT if missing)."""
        if self.voices is not None:
            await self.voices.ensure(self.clients[worker].http, worker)

    def _seconds_left(self) -> float:
        """Estimated audio still to synthesise (kept as a running sum: it is read after every unit)."""
        if self._left is None:
            self._left = sum(u.est_seconds for u in self.plan.units if u.id not in self.audio)
        return self._left

    def _unit_stored(self, unit: WorkUnit, stored: StoredAudio) -> None:
        if unit.id not in self.audio and self._left is not None:
            self._left -= unit.est_seconds
        self.audio[unit.id] = stored
        self.pipeline.advance(unit.chapter_index, self._seconds_left())
        if self.sched.chapter_done(unit.chapter_index):
            self._publish_chapter_done(unit.chapter_index)

    def _set_fatal(self, reason: str) -> None:
        if reason.startswith("cannot keep audio"):
            reason = f"{reason} (in {self.session_dir})"
        self._fatal = self._fatal or reason
        self._kick.set()

    async def _run_with(self, endpoints: list[WorkerEndpoint], on_ready: Optional[Callable[[], None]]
                        ) -> ev.RunFinished:
        assert self.book is not None and self.journal is not None and self.plan is not None
        loop = asyncio.get_running_loop()
        units = self.plan.units
        done_ids = [u.id for u in units if u.id in self.audio]
        infos = [UnitInfo(u.id, u.chapter_index, order, u.est_seconds) for order, u in enumerate(units)]
        self.sched = Scheduler(infos, self.options.scheduler, done=done_ids)
        self.attempts = AttemptRunner(self.sched, self.journal, self.clients, self.bus.publish, self.stats,
                                      AttemptHooks(settings_for=self._settings_for, stored=self._unit_stored,
                                                                   exclude=self._exclude, fatal=self._set_fatal,
                                                   kick=self._kick.set, host_of=self._host_of,
                                                   prepare=self._prepare_worker))
        titles = {ch.index: ch.title for ch in self.book.chapters}
        encoder = ChapterEncoder(self.session_dir / "chapters", fmt=self.options.fmt, bitrate=self.options.bitrate)
        self.pipeline = SegmentPipeline(encoder, self._encode_pool, self.plan.chapter_units(), titles, self.audio,
                                        seconds_max=self.options.segment_seconds_max,
                                        seconds_min=self.options.segment_seconds_min, publish=self.bus.publish)
        self.bus.publish(ev.RunPlanned(self.session_id, tuple(
            ev.UnitPlan(u.id, u.chapter_index, u.chars, u.est_seconds) for u in units)))
        if on_ready is not None:
            on_ready()  # commands sent during start (pause, drain…) apply before anything is dispatched
        for ep in endpoints:
            self.endpoints[ep.name] = ep
            self.clients[ep.name] = WorkerClient(ep)
            self.sched.add_worker(ep.name)
        healthy = await asyncio.gather(*[self._initial_probe(name) for name in self.clients])
        if not any(healthy) and not self.sched.is_finished() and not self._aborting:
            if self._excluded:
                raise ClusterError("no usable worker: " + "; ".join(f"{k} {v}" for k, v in self._excluded.items()))
            raise ClusterError("no worker answered /health")

        self.bus.publish(ev.RunStarted(
            title=self.book.meta.title, total_units=len(units), total_chapters=len(self.book.chapters),
            already_done=len(done_ids), est_audio_seconds=sum(u.est_seconds for u in units),
            workers=tuple(self.clients), chapter_titles=tuple(titles.values()),
        ))
        for warning in getattr(self.book, "warnings", []):
            self._notice("warning", warning)
        for unit in units:
            if unit.id in self.audio:
                self.stats.unit_reused()
                self.bus.publish(ev.UnitReused(unit.id, unit.chapter_index, self.audio[unit.id].worker,
                                               self.audio[unit.id].duration))
        for chapter in self.book.chapters:
            self.pipeline.advance(chapter.index, self._seconds_left())
            if self.sched.chapter_done(chapter.index):
                self._publish_chapter_done(chapter.index)

        telemetry = asyncio.ensure_future(telemetry_loop(
            lambda: {n: c for n, c in self.clients.items() if self.sched.worker_state(n) is not WorkerState.DOWN},
            interval=self.options.telemetry_interval, timeout=self.options.telemetry_timeout,
            publish=self.bus.publish, answered=self._telemetry_answered))
        gave_up = ""
        try:
            gave_up = await self._dispatch_loop(loop)
        finally:
            telemetry.cancel()
            self.attempts.cancel_all("aborted" if self._aborting else "run ended")
            await self.attempts.wait_all()
            for probe in self._probes.values():
                probe.cancel()
        if self._aborting:
            return self._finished([], "aborted; finished units are kept in the journal", "aborted")
        return await self._assemble(gave_up)

    def _telemetry_answered(self, results: dict[str, bool]) -> None:
        """A worker that stops answering /status is hung (stopped, swapping, wedged): requeue its units."""
        for name, ok in results.items():
            if ok:
                self._silent.pop(name, None)
                continue
            self._silent[name] = self._silent.get(name, 0) + 1
            if self._silent[name] >= self.options.unresponsive_after and \
                    self.sched.worker_state(name) is not WorkerState.DOWN:
                seconds = self._silent[name] * self.options.telemetry_interval
                self._silent.pop(name, None)
                self.attempts.worker_lost(name, f"no answer to /status for {seconds:.0f} s (hung?)")
                self._kick.set()

    def _host_of(self, worker: str) -> str:
        ep = self.endpoints.get(worker)
        return ep.host if ep else ""

    async def _add_endpoint(self, ep: WorkerEndpoint) -> None:
        """A worker that (re)appeared: new address or token → new client; then probe it."""
        old = self.endpoints.get(ep.name)
        if old is None or old.base_url != ep.base_url or old.token != ep.token:
            if ep.name in self.clients:
                await self.clients[ep.name].aclose()
            self.endpoints[ep.name] = ep
            self.clients[ep.name] = WorkerClient(ep)
        self._excluded.pop(ep.name, None)
        self.sched.add_worker(ep.name)
        if ep.name not in self._probes:
            self._probes[ep.name] = asyncio.ensure_future(self._probe(ep.name))

    async def _initial_probe(self, name: str) -> bool:
        """Health, token and engine of one worker; a worker that cannot serve this run is left out."""
        client = self.clients[name]
        self.bus.publish(ev.WorkerStateChanged(name, "probing", self.endpoints[name].host))
        try:
            health = await client.health(timeout=10.0)
            status = await client.status(timeout=10.0)
        except WorkerAuthError as exc:
            self._exclude(name, str(exc))
            return False
        except WorkerError as exc:
            self.sched.worker_lost(name, asyncio.get_running_loop().time())
            self.bus.publish(ev.WorkerStateChanged(name, "down", self.endpoints[name].host, str(exc)))
            return False
        engine = health.engine or status.engine
        if engine and engine != self.options.engine:
            self._exclude(name, f"runs engine {engine!r}, this run asks for {self.options.engine!r}")
            return False
        self._fit_slots(name, status)
        self.bus.publish(ev.WorkerTelemetry(name, status))
        self.bus.publish(ev.WorkerStateChanged(name, "up", self.endpoints[name].host, engine))
        return True

    def _fit_slots(self, name: str, status) -> None:
        """A worker with N engine replicas runs N units at once and queues as many: give it 2N slots."""
        replicas = getattr(status, "replicas", 1) or 1
        if replicas > 1:
            self.sched.add_worker(name, slots=replicas * self.options.scheduler.slots_per_worker)

    def _exclude(self, name: str, reason: str) -> None:
        """Take a worker out of this run for good (it would only fail every unit)."""
        if name in self._excluded:
            return
        self._excluded[name] = reason
        if self.sched.worker_state(name) is WorkerState.DOWN:
            self.bus.publish(ev.WorkerStateChanged(name, "down", self._host_of(name), reason))
        else:
            self.attempts.worker_lost(name, reason)
        self._notice("error", f"worker {name} left out: {reason}")

    async def _dispatch_loop(self, loop: asyncio.AbstractEventLoop) -> str:
        """Hand out work until every unit is done or quarantined; returns a reason if it gave up."""
        assert self.sched is not None and self.attempts is not None
        last_up = loop.time()
        while not self.sched.is_finished():
            now = loop.time()
            if self._aborting:
                return "aborted"
            if self._fatal:
                return self._fatal
            if self._stopping and not len(self.attempts):
                return "stopped by the user"
            for worker in self.sched.workers_to_probe(now):
                if worker not in self._probes and worker not in self._excluded:
                    self._probes[worker] = asyncio.ensure_future(self._probe(worker))
            for assignment in self.sched.poll_assignments(now):
                self.attempts.start(assignment, self.units_by_id[assignment.unit_id])
            if any(self.sched.worker_state(w) is not WorkerState.DOWN for w in self.sched.workers()):
                last_up = now
            elif self._excluded and len(self._excluded) == len(self.clients):
                return "no usable worker left: " + "; ".join(self._excluded.values())
            elif now - last_up > self.options.give_up_after:
                return f"no worker reachable for {self.options.give_up_after:.0f} s"
            wake = self.sched.next_wakeup(now)
            timeout = 1.0 if wake is None else min(1.0, max(0.005, wake - now))
            self._kick.clear()
            try:
                await asyncio.wait_for(self._kick.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return ""

    async def _probe(self, worker: str) -> None:
        assert self.sched is not None
        host = self._host_of(worker)
        self.bus.publish(ev.WorkerStateChanged(worker, "probing", host))
        try:
            await self.clients[worker].health(timeout=5.0)
            status = await self.clients[worker].status(timeout=5.0)
        except WorkerAuthError as exc:
            self._exclude(worker, str(exc))
        except WorkerError as exc:
            self.sched.worker_lost(worker, asyncio.get_running_loop().time())  # restarts its re-probe timer
            self.bus.publish(ev.WorkerStateChanged(worker, "down", host, str(exc)))
            self._maybe_restart(worker)
        else:
            self._probe_failures.pop(worker, None)
            self.sched.worker_up(worker)
            if self.voices is not None:
                self.voices.forget(worker)  # it may have restarted with an empty voice folder
            self._fit_slots(worker, status)
            self.bus.publish(ev.WorkerTelemetry(worker, status))
            state = "draining" if self.sched.worker_state(worker) is WorkerState.DRAINING else "up"
            self.bus.publish(ev.WorkerStateChanged(worker, state, host, "back"))
        finally:
            self._probes.pop(worker, None)
            self._kick.set()

    # ------------------------------------------------------------------ assembly
    def _publish_chapter_done(self, chapter_index: int) -> None:
        assert self.plan is not None and self.book is not None
        seconds = sum(self.audio[u.id].duration for u in self.plan.units
                      if u.chapter_index == chapter_index and u.id in self.audio)
        title = next(ch.title for ch in self.book.chapters if ch.index == chapter_index)
        self.bus.publish(ev.ChapterDone(chapter_index, title, seconds))

    async def _assemble(self, gave_up: str) -> ev.RunFinished:
        assert self.book is not None and self.sched is not None and self.pipeline is not None
        self.pipeline.flush()
        outputs: list[Path] = []
        stopped = gave_up == "stopped by the user"
        try:
            encoded = await self.pipeline.encoded([ch.index for ch in self.book.chapters])
            if encoded:
                self.bus.publish(ev.RunPhase("assembling", str(self.output)))
                self.bus.publish(ev.AssemblyStarted(str(self.output)))
                book = self.book
                outputs = await asyncio.get_running_loop().run_in_executor(
                    self._encode_pool,
                    lambda: finish_audiobook(encoded, book.meta, self.output, fmt=self.options.fmt,
                                             split_chapters=self.options.split_chapters,
                                             subtitles=self.options.subtitles),
                )
        except AssemblyError as exc:
            gave_up = f"{gave_up + '; ' if gave_up else ''}assembly failed: {exc} (unit audio is kept; rerun to retry)"
        missing = [u.id for u in self.plan.units if u.id not in self.audio]
        outcome = "complete" if not missing and not gave_up else ("stopped" if stopped else "partial")
        error = gave_up or (f"{len(missing)} unit(s) missing: {', '.join(missing[:5])}" if missing else "")
        return self._finished(outputs, error, outcome)

    def _finished(self, outputs: list[Path], error: str, outcome: str) -> ev.RunFinished:
        assert self.journal is not None and self.sched is not None and self.plan is not None
        finished = time.monotonic()
        self.journal.finish_run(outcome if outcome in ("complete", "partial") else "partial")
        quarantined = tuple(self.sched.quarantined())
        last = self.stats.last_unit_done
        result = ev.RunFinished(
            ok=outcome == "complete", outputs=tuple(str(p) for p in outputs),
            audio_seconds=sum(a.duration for a in self.audio.values()),
            wall_seconds=finished - self.stats.started, units_total=len(self.plan.units),
            units_synthesized=self.stats.synthesized, units_reused=self.stats.reused, quarantined=quarantined,
            per_worker=self.stats.snapshot(), tail_seconds=finished - last if last else 0.0, error=error,
            outcome=outcome, errors={u: self.sched.unit_error(u) or "" for u in quarantined},
        )
        self.bus.publish(ev.RunPhase("finished", outcome))
        self.bus.publish(result)
        return result


async def _round_trips(endpoints: list[WorkerEndpoint], timeout: float = 5.0) -> list[float]:
    """One timed ``/health`` per worker, all at once: the latency units are sized against."""
    async def one(ep: WorkerEndpoint) -> Optional[float]:
        client = WorkerClient(ep)
        try:
            started = time.monotonic()
            await client.health(timeout=timeout)
            return time.monotonic() - started
        except WorkerError:
            return None
        finally:
            await client.aclose()

    return [t for t in await asyncio.gather(*(one(ep) for ep in endpoints)) if t is not None]


async def run_book(
    options: RunOptions,
    cluster: ClusterSource,
    *,
    bus: Optional[ev.EventBus] = None,
) -> ev.RunFinished:
    """Convenience: a :class:`~tui.core.session.RunSession` run to the end."""
    from .session import RunSession

    return await RunSession(options, cluster, bus=bus).run()
