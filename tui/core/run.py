"""The run driver: book → units → workers → journal → audiobook, publishing events.

:class:`BookRun` owns a conversion's lifetime and composes its parts: planning
(:mod:`~tui.core.planning`), the pure :class:`~tui.core.scheduler.Scheduler`,
attempts (:mod:`~tui.core.attempts`), the workers and their probes
(:mod:`~tui.core.workers`), bringing dead workers back
(:mod:`~tui.core.supervision`), the audio ledger and segment pipeline, telemetry,
statistics and the command handlers (:mod:`~tui.core.run_commands`). Every
background task lives in one :class:`~tui.core.tasks.TaskGroup`. Front ends never
use it directly: they drive a :class:`~tui.core.session.RunSession`.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

from ..assembly.audiobook import finish_audiobook
from ..assembly.encoder import ChapterEncoder
from ..assembly.errors import AssemblyError
from ..book.fingerprint import book_fingerprint
from ..book.lexicon import load_lexicon
from ..book.model import Book, WorkUnit
from . import commands as cmd
from . import events as ev
from .attempts import AttemptRunner
from .checks import CheckStatus, count, flagged_in_book, flagged_report_path, unit_checked, write_flagged_report
from .client import SynthesisSettings, VoiceError
from .cluster import Offer, WorkerEndpoint, WorkerSource
from .control import RunControl
from .encoding import SegmentPipeline
from .journal import Journal, JournalError, StoredAudio, session_dir_for
from .journal_io import JournalIO
from .ledger import AudioLedger
from .options import RunError, RunOptions, validate_options
from .outcome import DispatchEnd, EndKind, Outcome
from .planning import UnitPlan, book_loaded, engine_key, synthesis_settings, plan_units, prepare_book, request_costs, resumed_profile
from .run_commands import CommandHandlers
from .scheduler import Scheduler, UnitInfo
from .stats import RunStats
from .supervision import Supervisor
from .tasks import TaskGroup
from .telemetry import telemetry_loop
from .voices import VoiceUploader, load_voice_sample
from .workers import WorkerPool, round_trips

__all__ = ["BookRun"]


class BookRun:
    """One conversion. Commands reach it through :meth:`apply` once :attr:`ready_for_commands`
    (the session queues those that arrive earlier and applies them as soon as it is)."""

    def __init__(self, options: RunOptions, source: WorkerSource, bus: Optional[ev.EventBus] = None) -> None:
        validate_options(options)
        self.options = options
        self.source = source
        self.bus = bus or ev.EventBus()
        self.output = options.output_path
        self.session_dir = session_dir_for(self.output)
        self.book: Optional[Book] = None
        self.plan: Optional[UnitPlan] = None
        self.journal: Optional[JournalIO] = None
        self.ledger = AudioLedger()  # unit id → verified audio
        self.stats = RunStats()
        self.session_id = ""
        self.control = RunControl(self.session_dir)
        self.tasks = TaskGroup(on_error=self._task_failed)
        self.voices: Optional[VoiceUploader] = None  # --voice-sample: uploaded once per worker
        self.sched: Optional[Scheduler] = None
        self.pool: Optional[WorkerPool] = None
        self.attempts: Optional[AttemptRunner] = None
        self.pipeline: Optional[SegmentPipeline] = None
        self.commands: Optional[CommandHandlers] = None
        self._lexicon = None
        self._encode_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2a-encode")
        self._expected_workers = 1  # sizes units; known once the workers have started
        self._round_trips: list[float] = []  # seconds per /health round trip, one per worker (sizes units)

    @property
    def ready_for_commands(self) -> bool:
        return self.commands is not None

    def apply(self, command: cmd.Command) -> None:
        assert self.commands is not None
        self.commands.apply(command)

    def _task_failed(self, name: str, exc: BaseException) -> None:
        self.bus.publish(ev.Notice("error", f"{name} failed: {type(exc).__name__}: {exc}"))

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
                self.ledger.keep(unit, stored)
        self.ledger.plan(plan.units)
        journal.sync_units(plan.units)
        self.plan = plan
        self.journal = JournalIO(journal)

    # ------------------------------------------------------------------ the run
    async def run(self, *, on_ready: Optional[Callable[[], None]] = None) -> ev.RunFinished:
        """Convert the book; ``on_ready`` is called once the scheduler exists (queued commands apply then)."""
        self.stats = RunStats()
        loop = asyncio.get_running_loop()
        try:
            if self.book is None:
                await loop.run_in_executor(None, self.load)
            self.bus.publish(book_loaded(self.book, self.output))
            self.bus.publish(ev.RunPhase("starting", "starting workers"))
            if Offer.EVENTS in self.source.offers:
                self.source.bind_events(self.bus.publish)
            endpoints = await self.source.start()
            if self.journal is None:
                self._expected_workers = len(endpoints)
                self._round_trips = await round_trips(endpoints)
                await loop.run_in_executor(None, self.prepare)
            return await self._run_with(endpoints, on_ready)
        finally:
            await self.tasks.aclose()
            if self.pool is not None:
                await self.pool.aclose()
            await self.source.stop()
            self._encode_pool.shutdown(wait=False, cancel_futures=True)
            if self.journal is not None:
                self.journal.close()

    def _settings_for(self, unit: WorkUnit) -> SynthesisSettings:
        assert self.book is not None and self.plan is not None
        return synthesis_settings(self.options, self.book, self.plan, unit,
                                  voice_sha256=self.voices.sample.sha256 if self.voices else None)

    def _unit_stored(self, unit: WorkUnit, stored: StoredAudio) -> None:
        self._publish_checks(unit, stored)
        self.ledger.keep(unit, stored)
        self.pipeline.advance(unit.chapter_index, self.ledger.seconds_left())
        if self.sched.chapter_done(unit.chapter_index):
            self._publish_chapter_done(unit.chapter_index)

    def _build_parts(self) -> None:
        """The scheduler and the parts around it, once the plan and the journal exist."""
        assert self.book is not None and self.journal is not None and self.plan is not None
        units = self.plan.units
        infos = [UnitInfo(u.id, u.chapter_index, order, u.est_seconds) for order, u in enumerate(units)]
        self.sched = Scheduler(infos, self.options.scheduler, done=[u.id for u in units if u.id in self.ledger])
        publish = self.bus.publish
        self.pool = WorkerPool(self.options, self.sched, publish, self.control, self.tasks, self.voices)
        self.attempts = AttemptRunner(self.sched, self.journal, self.pool, publish, self.stats, self.control,
                                      self.tasks, settings_for=self._settings_for, on_stored=self._unit_stored)
        supervisor = Supervisor(self.source, self.pool, publish, self.control, self.tasks)
        self.pool.on_events(lose=self.attempts.worker_lost, probe_failed=supervisor.probe_failed,
                            probe_ok=supervisor.probe_ok)
        titles = {ch.index: ch.title for ch in self.book.chapters}
        encoder = ChapterEncoder(self.session_dir / "chapters", fmt=self.options.fmt, bitrate=self.options.bitrate)
        self.pipeline = SegmentPipeline(encoder, self._encode_pool, self.plan.chapter_units(), titles, self.ledger,
                                        seconds_max=self.options.segment_seconds_max,
                                        seconds_min=self.options.segment_seconds_min, publish=publish)
        self.commands = CommandHandlers(units=units, sched=self.sched, attempts=self.attempts, journal=self.journal,
                                        ledger=self.ledger, pipeline=self.pipeline, pool=self.pool,
                                        supervisor=supervisor, control=self.control, publish=publish)

    async def _run_with(self, endpoints: list[WorkerEndpoint], on_ready: Optional[Callable[[], None]]
                        ) -> ev.RunFinished:
        self._build_parts()
        assert self.book is not None and self.plan is not None and self.sched is not None
        assert self.pool is not None and self.attempts is not None and self.pipeline is not None
        units = self.plan.units
        self.bus.publish(ev.RunPlanned(self.session_id, tuple(
            ev.UnitPlan(u.id, u.chapter_index, u.chars, u.est_seconds) for u in units)))
        if on_ready is not None:
            on_ready()  # commands sent during start (pause, drain…) apply before anything is dispatched
        await self.pool.start(endpoints)
        reused = [u for u in units if u.id in self.ledger]
        self.bus.publish(ev.RunStarted(
            title=self.book.meta.title, total_units=len(units), total_chapters=len(self.book.chapters),
            already_done=len(reused), est_audio_seconds=sum(u.est_seconds for u in units),
            workers=tuple(self.pool.clients), chapter_titles=tuple(ch.title for ch in self.book.chapters),
        ))
        for warning in self.book.warnings:
            self.bus.publish(ev.Notice("warning", warning))
        for unit in reused:
            self.stats.unit_reused()
            self.bus.publish(ev.UnitReused(unit.id, unit.chapter_index, self.ledger[unit.id].worker,
                                           self.ledger[unit.id].duration))
            self._publish_checks(unit, self.ledger[unit.id])
        for chapter in self.book.chapters:
            self.pipeline.advance(chapter.index, self.ledger.seconds_left())
            if self.sched.chapter_done(chapter.index):
                self._publish_chapter_done(chapter.index)

        telemetry = self.tasks.spawn(telemetry_loop(
            self.pool.up_clients, interval=self.options.telemetry_interval, timeout=self.options.telemetry_timeout,
            publish=self.bus.publish, answered=self.pool.telemetry_answered), name="telemetry")
        end = DispatchEnd(EndKind.FINISHED)
        try:
            end = await self._dispatch_loop(asyncio.get_running_loop())
        finally:
            telemetry.cancel()
            self.attempts.cancel_all("aborted" if self.control.aborting else "run ended")
            await self.attempts.wait_all()
        if end.kind is EndKind.ABORTED:
            return self._finished([], "aborted; finished units are kept in the journal", Outcome.ABORTED)
        return await self._assemble(end)

    async def _dispatch_loop(self, loop: asyncio.AbstractEventLoop) -> DispatchEnd:
        """Hand out work until every unit is done or quarantined, or a reason to end early."""
        assert self.sched is not None and self.attempts is not None and self.pool is not None
        last_up = loop.time()
        while not self.sched.is_finished():
            now = loop.time()
            if self.control.aborting:
                return DispatchEnd(EndKind.ABORTED, "aborted")
            if self.control.fatal:
                return DispatchEnd(EndKind.FATAL, self.control.fatal)
            if self.control.stopping and not len(self.attempts):
                return DispatchEnd(EndKind.STOPPED, "stopped by the user")
            for worker in self.sched.workers_to_probe(now):
                self.pool.probe(worker)
            for assignment in self.sched.poll_assignments(now):
                self.attempts.start(assignment, self.plan.by_id[assignment.unit_id])
            if self.pool.up_clients():
                last_up = now
            elif self.pool.all_excluded():
                return DispatchEnd(EndKind.NO_WORKERS,
                                   "no usable worker left: " + "; ".join(self.pool.excluded.values()))
            elif now - last_up > self.options.give_up_after:
                return DispatchEnd(EndKind.NO_WORKERS, f"no worker reachable for {self.options.give_up_after:.0f} s")
            wake = self.sched.next_wakeup(now)
            await self.control.wait(1.0 if wake is None else min(1.0, max(0.005, wake - now)))
        return DispatchEnd(EndKind.FINISHED)

    def _publish_checks(self, unit: WorkUnit, stored: StoredAudio) -> None:
        event = unit_checked(unit.id, unit.chapter_index, stored)
        if event is not None:
            self.bus.publish(event)

    # ------------------------------------------------------------------ assembly
    def _publish_chapter_done(self, chapter_index: int) -> None:
        assert self.plan is not None and self.book is not None
        seconds = self.ledger.seconds_of(self.plan.chapter_units()[chapter_index])
        title = next(ch.title for ch in self.book.chapters if ch.index == chapter_index)
        self.bus.publish(ev.ChapterDone(chapter_index, title, seconds))

    async def _assemble(self, end: DispatchEnd) -> ev.RunFinished:
        assert self.book is not None and self.sched is not None and self.pipeline is not None
        self.pipeline.flush()
        outputs: list[Path] = []
        problem = end.message if end.gave_up else ""
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
            problem = f"{problem + '; ' if problem else ''}assembly failed: {exc} (unit audio is kept; rerun to retry)"
        missing = self.ledger.missing()
        if not missing and not problem:
            outcome = Outcome.COMPLETE
        else:
            outcome = Outcome.STOPPED if end.kind is EndKind.STOPPED else Outcome.PARTIAL
        error = problem or (f"{len(missing)} unit(s) missing: {', '.join(missing[:5])}" if missing else "")
        return self._finished(outputs, error, outcome)

    def _finished(self, outputs: list[Path], error: str, outcome: Outcome) -> ev.RunFinished:
        assert self.journal is not None and self.sched is not None and self.plan is not None
        finished = time.monotonic()
        self.journal.finish_run(Outcome.COMPLETE if outcome is Outcome.COMPLETE else Outcome.PARTIAL)
        quarantined = tuple(self.sched.quarantined())
        last = self.stats.last_unit_done
        totals = count(c for a in self.ledger.values() for c in a.checks)
        report = self._write_flagged_report() if self.options.verifying else None
        result = ev.RunFinished(
            ok=outcome is Outcome.COMPLETE, outputs=tuple(str(p) for p in outputs),
            audio_seconds=self.ledger.total_seconds(), wall_seconds=finished - self.stats.started,
            units_total=len(self.plan.units), units_synthesized=self.stats.synthesized,
            units_reused=self.stats.reused, quarantined=quarantined, per_worker=self.stats.snapshot(),
            tail_seconds=finished - last if last else 0.0, error=error, outcome=outcome,
            errors={u: self.sched.unit_error(u) or "" for u in quarantined},
            sentences_passed=totals[CheckStatus.PASSED], sentences_flagged=totals[CheckStatus.FLAGGED],
            sentences_unverified=totals[CheckStatus.UNVERIFIED], flagged_report=str(report or ""),
        )
        ev.publish_finished(self.bus, result)
        return result

    def _write_flagged_report(self) -> Optional[Path]:
        """``book.flagged.tsv`` beside the output: every sentence still wrong, with its time in the book."""
        assert self.plan is not None and self.book is not None
        titles = {ch.index: ch.title for ch in self.book.chapters}
        try:
            return write_flagged_report(flagged_report_path(self.output),
                                        flagged_in_book(self.plan.units, self.ledger, titles))
        except OSError as exc:
            self.bus.publish(ev.Notice("error", f"cannot write the flagged report: {exc}"))
            return None
