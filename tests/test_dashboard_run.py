"""The dashboard's keys over a real RunSession with real local Piper workers (and a fault proxy).

Assertions look at what the session did (its events, state, journal and the
written book), never at what the app echoes. Waiting is always on a condition,
polled between ``pilot.pause`` calls, with a timeout.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest
from textual.widgets import RichLog

from tui.core import events as ev
from tui.core.local import LocalCluster
from tui.core.options import RunOptions
from tui.core.scheduler import SchedulerConfig
from tui.core.session import RunSession, run_book
from tui.core.text import printable
from tui.dashboard.app import DashboardApp
from tui.dashboard.logs import local_log_reader
from tui.dashboard.screens.detail import WorkerDetail
from tui.dashboard.widgets.chapters import ChaptersTable
from tui.dashboard.widgets.workers import WorkersTable

from tests.support.fault_proxy import FaultRule
from tests.support.session_helpers import Proxied
from tests.support.probe import ffprobe

pytestmark = pytest.mark.slow

SIZE = (120, 40)


def _fast(**kw) -> SchedulerConfig:
    """Quick retries; one unit per worker at a time and no speculative copies, so who runs what is clear."""
    settings = dict(backoff_base=0.05, backoff_max=0.5, reprobe_after=0.5, slots_per_worker=1,
                    speculative_tail=False)
    return SchedulerConfig(**{**settings, **kw})


async def until(pilot, condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    """Let the app (and the run on its loop) go on until ``condition`` holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
        await pilot.pause(0.05)


def _after(events: list, marker: object) -> list:
    return events[events.index(marker) + 1:]


def _journal(output: Path) -> sqlite3.Connection:
    return sqlite3.connect(output.with_name(output.name + ".e2a") / "journal.sqlite3")


def _audio_rows(output: Path) -> int:
    try:
        return _journal(output).execute("SELECT COUNT(*) FROM audio").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _started(events: list, worker: str | None = None) -> list[ev.UnitStarted]:
    return [e for e in events if isinstance(e, ev.UnitStarted) and (worker is None or e.worker == worker)]


def _session(tmp_path: Path, sample: Path, cluster, name: str, unit_chars: int, chapters: str | None = None,
             **sched) -> tuple:
    output = tmp_path / f"{name}.m4b"
    session = RunSession(RunOptions(input=sample, output=output, unit_chars=unit_chars, chapters=chapters,
                                    scheduler=_fast(**sched)), cluster)
    events: list = []
    session.subscribe(events.append)
    return session, events, output


async def test_drain_requeue_pause_resume_and_stop_keys(tmp_path: Path, sample_epub: Path) -> None:
    cluster = LocalCluster(2, workdir=tmp_path / "w")
    session, events, output = _session(tmp_path, sample_epub, cluster, "keys", 120)
    state = session.state
    app = DashboardApp(session, log_reader=local_log_reader(cluster))
    async with app.run_test(size=SIZE) as pilot:
        workers, chapters = app.query_one(WorkersTable), app.query_one(ChaptersTable)

        # enter on a worker: its detail view reads the worker's own log file (in a thread)
        await until(pilot, lambda: "local-1" in state.workers and state.workers["local-1"].status, "telemetry")
        workers.focus()
        workers.select_key("local-1")
        written = (tmp_path / "w" / "local-1.log").read_text()
        complete = written.splitlines() if written.endswith("\n") else written.splitlines()[:-1]
        assert complete, "the worker wrote no log"
        target = printable(complete[-1], max_chars=400).strip()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WorkerDetail), "the worker detail")
        log = app.screen.query_one("#worker-log", RichLog)
        await until(pilot, lambda: any(line.text.strip() == target for line in log.lines),
                    "the log tail in the detail view")
        await pilot.press("escape")
        chapters.focus()

        # d: local-1 finishes what it holds and gets nothing new; local-2 carries on
        await until(pilot, lambda: "local-1" in state.workers and state.workers["local-1"].current
                    and any(isinstance(e, ev.UnitDone) for e in events), "local-1 busy after a first result")
        workers.select_key("local-1")
        await pilot.press("d")
        await until(pilot, lambda: any(isinstance(e, ev.WorkerStateChanged) and e.state == "draining"
                                       for e in events), "the drain to reach the run")
        drained = next(e for e in events if isinstance(e, ev.WorkerStateChanged) and e.state == "draining")
        assert drained.worker == "local-1"
        await until(pilot, lambda: not state.workers["local-1"].current, "local-1 to empty")
        await until(pilot, lambda: len(_started(_after(events, drained), "local-2")) >= 1, "local-2 to go on")
        assert not _started(_after(events, drained), "local-1"), "a draining worker was given work"

        # u, then R: a chapter running on local-2 is cancelled there and sent again, to local-1
        await pilot.press("u")
        await until(pilot, lambda: state.workers["local-1"].state in ("up", "busy"), "local-1 undrained")
        cancelled = None
        for _ in range(5):  # the unit may finish before the keys arrive (a loaded machine): then try the next one
            await until(pilot, lambda: state.workers["local-2"].current, "local-2 busy")
            moving = state.units[state.workers["local-2"].current_unit]
            mark = len(events)
            workers.select_key("local-2")
            await pilot.press("d")
            chapters.select_key(str(moving.chapter_index))
            await pilot.press("R")
            if state.chapters[moving.chapter_index].done:  # asks whether to redo finished units: no
                await pilot.press("n")
            await until(pilot, lambda: any(isinstance(e, ev.ChapterReopened) for e in events[mark:]),
                        "the requeue to reach the run")
            cancelled = next((e for e in events[mark:] if isinstance(e, ev.AttemptCancelled)
                              and e.reason == "requeued" and e.unit_id == moving.unit_id), None)
            if cancelled is not None:
                break
            workers.select_key("local-2")
            await pilot.press("u")
        assert cancelled is not None, "no requeue ever caught a unit in flight"
        assert cancelled.worker == "local-2" and cancelled.chapter_index == moving.chapter_index
        await until(pilot, lambda: any(e.unit_id == cancelled.unit_id and e.worker == "local-1"
                                       for e in _started(_after(events, cancelled))), "the resend on local-1")
        workers.select_key("local-2")
        await pilot.press("u")

        # p: nothing new is dispatched while paused; p again resumes
        await pilot.press("p")
        await until(pilot, lambda: state.overall.paused and state.overall.units_running == 0,
                    "pause and work in flight to finish")
        paused = next(e for e in events if isinstance(e, ev.DispatchChanged) and e.paused)
        assert not _started(_after(events, paused)), "a unit was dispatched while paused"
        left = state.overall.units_total - state.overall.units_done
        assert left >= 3, f"too few units left ({left}) to test resume and stop"
        await pilot.press("p")
        await until(pilot, lambda: not state.overall.paused, "resume")
        resumed = next(e for e in reversed(events) if isinstance(e, ev.DispatchChanged) and not e.paused)
        await until(pilot, lambda: _started(_after(events, resumed)), "dispatch after resume")

        # s: work in flight finishes, the partial book is written, the app stays open on the summary
        await pilot.press("s")
        await until(pilot, lambda: session.result is not None, "the stopped run to end", timeout=120)
        result = session.result
        assert result.outcome == "stopped" and not result.ok
        assert 0 < result.audio_seconds and result.units_synthesized < result.units_total
        assert app.query_one("#summary").display
        await pilot.press("q")  # finished: quits without asking
    assert app.return_code == 1  # as headless: a stopped run exits 1
    info = ffprobe(output)
    assert abs(float(info["format"]["duration"]) - result.audio_seconds) < 0.5
    assert not cluster.workers, "local workers were not stopped"


async def test_retry_key_completes_a_quarantined_chapter(tmp_path: Path, sample_epub: Path) -> None:
    rule = FaultRule("northern cape", times=1)  # the first unit of chapter 1 fails once, on whichever worker
    session, events, output = _session(tmp_path, sample_epub, Proxied(tmp_path / "w", 2, [[rule], [rule]]), "retry", 200,
                                       chapters="1-2", max_failures_per_unit=1, max_worker_failures_per_unit=1)
    state = session.state
    app = DashboardApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: state.chapters and state.chapters[0].quarantined, "chapter 1 quarantined")
        assert state.overall.result is None, "the run ended before the retry"
        app.query_one(ChaptersTable).select_key("0")
        await pilot.press("r")
        await until(pilot, lambda: session.result is not None, "the run to end", timeout=120)
        await pilot.press("q")
    result = session.result
    assert rule.failed == 1
    assert any(isinstance(e, ev.ChapterReopened) and e.chapter_index == 0 for e in events)
    assert result.ok and result.outcome == "complete" and not result.quarantined, result.error
    assert app.return_code == 0
    db = _journal(output)
    (unit_id,) = db.execute("SELECT unit_id FROM units WHERE text LIKE '%northern cape%'").fetchone()
    statuses = [s for (s,) in db.execute("SELECT status FROM attempts WHERE unit_id=? ORDER BY attempt_id",
                                        (unit_id,))]
    assert statuses[0] == "failed" and statuses[-1] == "done", statuses
    assert db.execute("SELECT COUNT(*) FROM units WHERE state != 'done'").fetchone()[0] == 0


async def test_bootstrap_key_brings_a_killed_local_worker_back(tmp_path: Path, sample_epub: Path) -> None:
    cluster = LocalCluster(2, workdir=tmp_path / "w")
    # a late re-probe keeps the core's own restart of a dead worker (after two failed probes) out of the way
    session, events, output = _session(tmp_path, sample_epub, cluster, "reboot", 120, chapters="1-2",
                                       worker_down_after=1, reprobe_after=60.0)
    state = session.state
    app = DashboardApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any(isinstance(e, ev.UnitDone) and e.worker == "local-2" for e in events)
                    and state.workers["local-2"].current, "local-2 busy after a first result")
        old_pid = cluster.pid_of("local-2")
        os.kill(old_pid, signal.SIGKILL)
        await until(pilot, lambda: state.workers["local-2"].state == "down", "local-2 seen down")
        await pilot.press("p")  # keep work for later: the run must not end while local-2 is away
        mark = len(events)
        app.query_one(WorkersTable).select_key("local-2")
        await pilot.press("b")
        await until(pilot, lambda: cluster.pid_of("local-2") not in (None, old_pid)
                    and state.workers["local-2"].state in ("up", "busy", "paused"), "local-2 restarted")
        notices = [e.message for e in events[mark:] if isinstance(e, ev.Notice)]
        assert "bootstrapping localhost again" in notices, notices
        back = len(events)
        await pilot.press("p")
        await until(pilot, lambda: any(isinstance(e, ev.UnitDone) and e.worker == "local-2"
                                       for e in events[back:]), "a result from the restarted local-2")
        await until(pilot, lambda: session.result is not None, "the run to end", timeout=120)
        await pilot.press("q")
    assert session.result.ok, session.result.error
    assert app.return_code == 0


async def test_quit_mid_run_then_rerun_resumes(tmp_path: Path, sample_epub: Path) -> None:
    cluster = LocalCluster(2, workdir=tmp_path / "w1")
    session, events, output = _session(tmp_path, sample_epub, cluster, "quit", 120, chapters="1-2")
    app = DashboardApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: _audio_rows(output) >= 2, "two finished units in the journal")
        pids = [cluster.pid_of(n) for n in ("local-1", "local-2")]
        await pilot.press("q")
        await pilot.press("y")  # work is in flight: it asks first
        await until(pilot, lambda: session.result is not None, "the aborted run to end")
    assert session.result.outcome == "aborted"
    assert app.return_code == 130
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids if pid), "local workers left running"
    assert not output.exists()
    kept = _audio_rows(output)
    assert kept >= 2

    second = await run_book(RunOptions(input=sample_epub, output=output, unit_chars=120, chapters="1-2",
                                       scheduler=_fast()),
                            LocalCluster(2, workdir=tmp_path / "w2"))
    assert second.ok, second.error
    assert second.units_reused >= kept
    done = Counter(h for (h,) in _journal(output).execute("SELECT content_hash FROM attempts WHERE status='done'"))
    assert max(done.values()) == 1, "a finished unit was synthesised again"
