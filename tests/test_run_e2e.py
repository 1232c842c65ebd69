"""End to end with real processes: local Piper workers, the journal, ffmpeg assembly, faults.

Each test converts the bundled sample book (3 short chapters) so the whole file
stays within a couple of minutes on two cores.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tui.core.events import ATTEMPT_ENDINGS, AttemptLost, EventBus, Notice, UnitDone, UnitStarted
from tui.core.local import LocalCluster
from tui.core.options import RunOptions
from tui.core.session import RunSession, run_book
from tui.core.scheduler import SchedulerConfig
from tui.sample import SAMPLE_CHAPTERS

from tests.support.fault_proxy import FaultRule
from tests.support.session_helpers import Proxied, Recorder
from tests.support.probe import chapter_spans, ffprobe
from tests.support.processes import child_pids

pytestmark = pytest.mark.slow

FAST = SchedulerConfig(backoff_base=0.05, backoff_max=0.5, reprobe_after=0.5)
TITLES = [title for title, _ in SAMPLE_CHAPTERS]


def _journal(output: Path) -> sqlite3.Connection:
    return sqlite3.connect(output.with_name(output.name + ".e2a") / "journal.sqlite3")


def _unit_audio(db: sqlite3.Connection) -> list[tuple[str, int, float, str]]:
    return db.execute(
        "SELECT u.unit_id, u.chapter_index, a.duration, a.worker FROM units u"
        " JOIN audio a ON a.content_hash = u.content_hash ORDER BY u.chapter_index, u.unit_index"
    ).fetchall()


def _assert_book_matches_journal(output: Path, titles: list[str] = TITLES) -> list[tuple[str, int, float, str]]:
    """Chapters, titles and durations of the m4b agree with the journal's unit audio."""
    db = _journal(output)
    rows = _unit_audio(db)
    units = db.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    assert len(rows) == units, "every unit has exactly one verified audio file"
    per_chapter: dict[int, float] = defaultdict(float)
    for _, chapter, duration, _ in rows:
        per_chapter[chapter] += duration
    info = ffprobe(output)
    spans = chapter_spans(info)
    assert [s[0] for s in spans] == titles
    for (title, start, end), chapter in zip(spans, sorted(per_chapter)):
        assert abs((end - start) - per_chapter[chapter]) < 0.1, title
    assert abs(float(info["format"]["duration"]) - sum(per_chapter.values())) < 0.25
    return rows


def test_cli_converts_sample_on_two_local_workers(local_cli_run) -> None:
    """The session's undisturbed run (conftest's ``local_cli_run``: ``--local-workers 2 --unit-chars 200``),
    made once; test_faults.py and test_ray_cluster.py compare their books with it."""
    proc, output = local_cli_run, local_cli_run.output
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = _assert_book_matches_journal(output)
    assert {worker for *_, worker in rows} == {"local-1", "local-2"}
    assert f"Wrote {output}" in proc.stdout
    assert "x real time" in proc.stdout


async def test_worker_killed_mid_unit_run_completes_on_the_other(tmp_path: Path, sample_epub: Path,
                                                                 local_reference: list) -> None:
    """local-2 SIGKILLed while it speaks a unit: the unit is lost and done elsewhere, the book completes,
    and the local cluster starts local-2 again and it rejoins the run (what test_faults.py's crashed-worker
    test checked in a run of its own)."""
    cluster = LocalCluster(2, workdir=tmp_path / "workers")
    output = tmp_path / "killed.m4b"
    bus = EventBus()
    done: list[str] = []
    killed: list[str] = []
    killed_at: list[int] = []  # how many events there were when the kill was sent

    events: list = []

    def kill(pid: int) -> None:
        killed_at.append(len(events))
        os.kill(pid, signal.SIGKILL)

    def on_event(event: object) -> None:
        events.append(event)
        if isinstance(event, UnitDone):
            done.append(event.unit_id)
        if isinstance(event, UnitStarted) and event.worker == "local-2" and len(done) >= 2 and not killed:
            killed.append(event.unit_id)
            asyncio.get_running_loop().call_later(0.3, kill, cluster.pid_of("local-2"))

    bus.subscribe(on_event)
    session = RunSession(RunOptions(input=sample_epub, output=output, unit_chars=200, scheduler=FAST), cluster,
                         bus=bus)
    rec = Recorder()
    session.subscribe(rec)
    result = await asyncio.wait_for(session.run(), 300)
    assert killed and killed_at, "the test never saw a unit start on local-2"
    assert result.ok, result.error
    rec.check_accounting(session)
    # every attempt ended exactly once, the killed one as lost; done never passes the total
    started = Counter(e.attempt_id for e in events if isinstance(e, UnitStarted))
    ended = Counter(e.attempt_id for e in events if isinstance(e, ATTEMPT_ENDINGS))
    assert started == ended and max(ended.values()) == 1
    assert any(isinstance(e, AttemptLost) and e.worker == "local-2" for e in events)
    assert len({e.unit_id for e in events if isinstance(e, UnitDone)}) == result.units_total
    # the crashed worker was started again and did units after the kill
    after = events[killed_at[0]:]
    assert any(isinstance(e, Notice) and "local-2 started again" in e.message for e in after), \
        [e.message for e in after if isinstance(e, Notice)]
    assert any(isinstance(e, UnitDone) and e.worker == "local-2" for e in after), "it never rejoined"
    rows = _assert_book_matches_journal(output)
    unit_ids = [r[0] for r in rows]
    assert len(unit_ids) == len(set(unit_ids))
    # the chapters of an undisturbed run, its duration within 2 % (Piper's noise_w: ~1 % per take)
    spans = chapter_spans(ffprobe(output))
    assert [s[0] for s in spans] == [r[0] for r in local_reference] == TITLES
    assert abs(spans[-1][2] - local_reference[-1][2]) <= 0.02 * local_reference[-1][2]
    db = _journal(output)
    lost = db.execute("SELECT unit_id FROM attempts WHERE status='lost' AND worker='local-2'").fetchall()
    assert lost, "the killed worker's unit is recorded as lost"
    for (unit_id,) in lost:
        assert db.execute("SELECT COUNT(*) FROM attempts WHERE unit_id=? AND status='done'",
                          (unit_id,)).fetchone()[0] == 1


async def test_worker_returning_500_for_a_unit_has_it_retried_elsewhere(tmp_path: Path, sample_epub: Path) -> None:
    rule = FaultRule("Penhallow")  # local-1 answers 500 for this unit every time; local-2 is healthy
    output = tmp_path / "retry.m4b"
    # Only chapter 2: its first unit (with "Penhallow") is the first one handed out, and goes to local-1.
    result = await run_book(RunOptions(input=sample_epub, output=output, unit_chars=300, chapters="2",
                                       scheduler=FAST),
                            Proxied(tmp_path / "w", 2, [[rule], []]))
    assert result.ok, result.error
    assert rule.failed >= 1
    _assert_book_matches_journal(output, [TITLES[1]])
    db = _journal(output)
    (unit_id,) = db.execute("SELECT unit_id FROM units WHERE text LIKE '%Penhallow%' LIMIT 1").fetchone()
    attempts = db.execute("SELECT worker, status FROM attempts WHERE unit_id=? ORDER BY attempt_id",
                          (unit_id,)).fetchall()
    done = [w for w, status in attempts if status == "done"]
    failed = [w for w, status in attempts if status == "failed"]
    assert failed and set(failed) == {"local-1"}
    assert done == ["local-2"], attempts
    assert db.execute("SELECT worker FROM audio a JOIN units u ON u.content_hash = a.content_hash"
                      " WHERE u.unit_id=?", (unit_id,)).fetchone() == ("local-2",)


async def test_unit_that_always_fails_is_quarantined_and_partial_book_written(tmp_path: Path,
                                                                            sample_epub: Path) -> None:
    always = FaultRule("Penhallow")
    cluster = Proxied(tmp_path / "w", 2, [[always], [always]])
    endpoints = await cluster.start()
    try:
        output = tmp_path / "partial.m4b"
        workers = ",".join(ep.base_url.removeprefix("http://") for ep in endpoints)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o", str(output), "--workers", workers,
            "--unit-chars", "300", "--retries", "2",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 600)
    finally:
        await cluster.stop()
    assert proc.returncode == 1, stdout.decode()[-2000:] + stderr.decode()[-2000:]
    assert "Partial audiobook" in stdout.decode()
    db = _journal(output)
    quarantined = [u for (u,) in db.execute("SELECT unit_id FROM units WHERE state='quarantined'")]
    assert quarantined and all("c0001" in u for u in quarantined)
    info = ffprobe(output)
    assert [s[0] for s in chapter_spans(info)] == TITLES  # chapter 2 is short of its failed unit, not gone
    done = _unit_audio(db)
    assert abs(float(info["format"]["duration"]) - sum(r[2] for r in done)) < 0.25


def test_orchestrator_killed_then_rerun_resumes_without_resynthesis(tmp_path: Path, sample_epub: Path,
                                                                   local_reference: list) -> None:
    """Killed during dispatch (test_faults.py kills it during assembly): the rerun reuses every finished
    unit and gives the book an undisturbed run gives."""
    output = tmp_path / "resume.m4b"
    cmd = [sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o", str(output), "--local-workers", "2",
           "--unit-chars", "200"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = output.with_name(output.name + ".e2a") / "journal.sqlite3"
    deadline = time.monotonic() + 300
    done_before = 0
    while time.monotonic() < deadline and first.poll() is None:
        if journal.exists():
            try:
                done_before = sqlite3.connect(journal).execute("SELECT COUNT(*) FROM audio").fetchone()[0]
            except sqlite3.OperationalError:
                done_before = 0
            if done_before >= 3:
                break
        time.sleep(0.1)
    workers = child_pids(first.pid)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert done_before >= 3, "the first run never finished three units"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{w}").exists() and "remote_worker" in Path(f"/proc/{w}/cmdline").read_text()
                   for w in workers), "local workers outlived the killed orchestrator"

    second = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    _assert_book_matches_journal(output)
    # the chapters of the undisturbed run, its duration within 2 % (Piper's noise_w: ~1 % per take)
    spans = chapter_spans(ffprobe(output))
    assert [s[0] for s in spans] == [r[0] for r in local_reference] == TITLES
    assert abs(spans[-1][2] - local_reference[-1][2]) <= 0.02 * local_reference[-1][2]
    db = _journal(output)
    done_per_hash = Counter(h for (h,) in db.execute("SELECT content_hash FROM attempts WHERE status='done'"))
    assert done_per_hash and max(done_per_hash.values()) == 1, "a finished unit was synthesised twice"
    reused = db.execute(
        "SELECT COUNT(*) FROM attempts a2 WHERE a2.run_id = 2 AND a2.content_hash IN "
        "(SELECT content_hash FROM attempts WHERE run_id = 1 AND status = 'done')"
    ).fetchone()[0]
    assert reused == 0
    assert "reused" in second.stdout


async def test_wrong_token_is_one_line_error_exit_2(tmp_path: Path, sample_epub: Path) -> None:
    cluster = LocalCluster(1, workdir=tmp_path / "w")
    endpoints = await cluster.start()
    try:
        token_file = tmp_path / "token"
        token_file.write_text("not-the-token")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o", str(tmp_path / "t.m4b"),
            "--workers", endpoints[0].base_url.removeprefix("http://"), "--worker-token-file", str(token_file),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        await cluster.stop()
    err = stderr.decode().strip()
    assert proc.returncode == 2, stdout.decode() + err
    assert err.count("\n") == 0 and "refused our token" in err and "not-the-token" not in err


def _as_a_foreground_job() -> None:
    """Ctrl-C reaches a terminal's foreground job; a job a shell started in the background (``cmd &``, as
    a CI runner may start the whole suite) inherits SIGINT ignored, and so would the orchestrator."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_workers_and_keeps_finished_units(tmp_path: Path, sample_epub: Path) -> None:
    output = tmp_path / "int.m4b"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o", str(output), "--local-workers", "2",
         "--unit-chars", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_as_a_foreground_job,
    )
    journal = output.with_name(output.name + ".e2a") / "journal.sqlite3"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if journal.exists() and sqlite3.connect(journal).execute("SELECT COUNT(*) FROM audio").fetchone()[0]:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    workers = child_pids(proc.pid)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout[-1000:] + stderr[-1000:]
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not any(Path(f"/proc/{w}").exists() for w in workers), "local workers left running"
    kept = sqlite3.connect(journal).execute("SELECT COUNT(*) FROM audio").fetchone()[0]
    assert kept >= 1


async def test_edited_chapter_is_the_only_one_redone(tmp_path: Path, monkeypatch) -> None:
    import tui.sample as sample

    book = sample.write_sample_epub(tmp_path / "book.epub")
    output = tmp_path / "book.m4b"
    first = await run_book(RunOptions(input=book, output=output), LocalCluster(2, workdir=tmp_path / "w1"))
    assert first.ok and first.units_reused == 0

    edited = list(sample.SAMPLE_CHAPTERS)
    title, paragraphs = edited[1]
    edited[1] = (title, paragraphs[:-1] + ["Ada read the letter a third time, and then she laughed."])
    monkeypatch.setattr(sample, "SAMPLE_CHAPTERS", edited)
    sample.write_sample_epub(book)
    # a different number of workers this time: unit sizes still follow the first run
    second = await run_book(RunOptions(input=book, output=output), LocalCluster(1, workdir=tmp_path / "w2"))
    assert second.ok, second.error
    db = _journal(output)
    redone = db.execute(
        "SELECT u.chapter_index FROM attempts a JOIN units u ON u.content_hash = a.content_hash"
        " WHERE a.run_id = 2 AND a.status = 'done'").fetchall()
    assert redone and {c for (c,) in redone} == {1}, redone
    assert second.units_reused == second.units_total - second.units_synthesized
    assert second.units_reused > first.units_total // 2
    _assert_book_matches_journal(output)
