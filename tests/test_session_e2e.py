"""The run session end to end on real local Piper workers: every command, exact attempt accounting.

Each test converts the bundled sample book (3 short chapters) with real
workers, real ffmpeg and the real journal, and checks what the user would:
the events (one ending per attempt), the state model's counts, journal rows
and the probed output.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tui.cli import exit_code_for
from tui.core import commands as cmd
from tui.core import events as ev
from tui.core.local import LocalCluster
from tui.core.options import RunOptions
from tui.core.scheduler import SchedulerConfig
from tui.core.session import RunSession

from tests.support.fault_proxy import FaultRule
from tests.support.session_helpers import Proxied as _Proxied, Recorder
from tests.support.probe import chapter_spans, ffprobe

pytestmark = pytest.mark.slow

FAST = SchedulerConfig(backoff_base=0.05, backoff_max=0.5, reprobe_after=0.5)


def _session(tmp_path: Path, sample_epub: Path, cluster, name: str, **kw) -> tuple[RunSession, Recorder, Path]:
    output = tmp_path / f"{name}.m4b"
    options = RunOptions(input=sample_epub, output=output, unit_chars=kw.pop("unit_chars", 200),
                         scheduler=kw.pop("scheduler", FAST), **kw)
    session = RunSession(options, cluster)
    recorder = Recorder()
    session.subscribe(recorder)
    return session, recorder, output


def _journal(output: Path) -> sqlite3.Connection:
    return sqlite3.connect(output.with_name(output.name + ".e2a") / "journal.sqlite3")


async def test_commands_sent_before_workers_start_apply_once_they_are_up(tmp_path: Path, sample_epub: Path) -> None:
    session, rec, output = _session(tmp_path, sample_epub, LocalCluster(2, workdir=tmp_path / "w"), "paused")
    session.send(cmd.Pause())  # before any worker exists
    session.send(cmd.Drain("no-such-worker"))
    session.send(cmd.RetryChapter(99))
    run = asyncio.ensure_future(session.run())
    await rec.wait_for(lambda e: isinstance(e, ev.RunStarted))
    # workers are up and probed: give the dispatch loop several rounds; nothing may go out while paused
    await asyncio.sleep(1.5)
    assert not rec.of(ev.UnitStarted), "a unit was dispatched while paused"
    assert session.state.overall.paused
    assert all(w.state == "paused" for w in session.state.workers.values()), session.state.workers
    notices = [n.message for n in rec.of(ev.Notice)]
    assert any("no worker no-such-worker" in m for m in notices), notices
    assert any("no chapter 100" in m for m in notices), notices
    session.send(cmd.Resume())
    result = await asyncio.wait_for(run, 300)
    assert result.ok, result.error
    rec.check_accounting(session)
    assert session.state.overall.units_done == result.units_total
    assert len(chapter_spans(ffprobe(output))) == 3


async def test_requeue_with_redo_drain_and_undrain_keep_counts_exact(tmp_path: Path, sample_epub: Path) -> None:
    cluster = LocalCluster(2, workdir=tmp_path / "w")
    session, rec, output = _session(tmp_path, sample_epub, cluster, "requeue")
    run = asyncio.ensure_future(session.run())
    # once chapter 1 has a finished unit and another one in flight, requeue it with redo
    await rec.wait_for(lambda e: isinstance(e, ev.UnitDone) and e.chapter_index == 0)
    await rec.wait_for(lambda e: any(u.chapter_index == 0 and u.running for u in session.state.units.values()))
    done_before = {e.unit_id for e in rec.of(ev.UnitDone) if e.chapter_index == 0}
    session.send(cmd.RequeueChapter(0, redo=True))
    session.send(cmd.Drain("local-2"))
    drained_at = len(rec.events)
    await rec.wait_for(lambda e: isinstance(e, ev.UnitDone) and e.worker == "local-1", timeout=120)
    session.send(cmd.Undrain("local-2"))
    undrained_at = len(rec.events)
    result = await asyncio.wait_for(run, 300)
    assert result.ok, result.error
    rec.check_accounting(session)

    reopened = rec.of(ev.ChapterReopened)
    assert reopened and reopened[0].redo and set(done_before) <= set(reopened[0].unit_ids)
    assert any(isinstance(e, ev.AttemptCancelled) and e.reason == "requeued" for e in rec.events)
    # while drained, local-2 got nothing new
    between = rec.events[drained_at:undrained_at]
    assert not any(isinstance(e, ev.UnitStarted) and e.worker == "local-2" for e in between)
    # the finished units of chapter 1 were synthesised again; the state model ends exact
    db = _journal(output)
    for unit_id in done_before:
        n = db.execute("SELECT COUNT(*) FROM attempts WHERE unit_id=? AND status='done'", (unit_id,)).fetchone()[0]
        assert n >= 2, unit_id
    o = session.state.overall
    assert o.units_done == o.units_total == result.units_total
    assert all(c.done == c.units_total for c in session.state.chapters.values())
    assert len(chapter_spans(ffprobe(output))) == 3


async def test_quarantined_chapter_retried_by_command_completes(tmp_path: Path, sample_epub: Path) -> None:
    # the unit with "Penhallow" fails twice (once per worker) and is quarantined; then the fault clears
    rule = FaultRule("Penhallow", times=2)
    strict = SchedulerConfig(backoff_base=0.05, backoff_max=0.5, reprobe_after=0.5, max_worker_failures_per_unit=2,
                             max_failures_per_unit=2, speculative_tail=False)
    session, rec, output = _session(tmp_path, sample_epub, _Proxied(tmp_path / "w", 2, [[rule], [rule]]), "retry",
                                    scheduler=strict, chapters="2")
    run = asyncio.ensure_future(session.run())
    failed = await rec.wait_for(lambda e: isinstance(e, ev.AttemptFailed) and e.quarantined)
    assert session.state.chapters[failed.chapter_index].state in ("quarantined", "running")
    session.send(cmd.RetryUnit("no-such-unit"))
    session.send(cmd.RetryChapter(failed.chapter_index))
    result = await asyncio.wait_for(run, 300)
    assert result.ok, result.error
    rec.check_accounting(session)
    assert any("no unit no-such-unit" in n.message for n in rec.of(ev.Notice))
    assert rec.of(ev.ChapterReopened)[0].unit_ids == (failed.unit_id,)
    assert any(isinstance(e, ev.UnitDone) and e.unit_id == failed.unit_id for e in rec.events)
    assert session.state.overall.units_quarantined == 0
    db = _journal(output)
    assert db.execute("SELECT state FROM units WHERE unit_id=?", (failed.unit_id,)).fetchone()[0] != "quarantined"


async def test_worker_answering_401_mid_run_is_left_out_and_the_run_completes(tmp_path: Path,
                                                                            sample_epub: Path) -> None:
    refused = FaultRule("", status=401, skip=2)  # local-1's token is "rotated" after two units
    session, rec, output = _session(tmp_path, sample_epub, _Proxied(tmp_path / "w", 2, [[refused], []]), "auth")
    result = await asyncio.wait_for(session.run(), 300)
    assert refused.failed >= 1
    assert result.ok, result.error
    rec.check_accounting(session)
    notices = [n.message for n in rec.of(ev.Notice)]
    assert any("worker local-1 left out" in m and "401" in m for m in notices), notices
    down = [e for e in rec.of(ev.WorkerStateChanged) if e.worker == "local-1" and e.state == "down"]
    assert down and "refused our token" in down[-1].reason
    assert session.state.workers["local-1"].state == "down"
    assert len(chapter_spans(ffprobe(output))) == 3


async def test_stop_finishes_in_flight_and_writes_a_partial_book(tmp_path: Path, sample_epub: Path) -> None:
    session, rec, output = _session(tmp_path, sample_epub, LocalCluster(2, workdir=tmp_path / "w"), "stopped")
    run = asyncio.ensure_future(session.run())
    await rec.wait_for(lambda e: isinstance(e, ev.UnitDone) and sum(isinstance(x, ev.UnitDone)
                                                                      for x in rec.events) >= 3)
    session.send(cmd.Stop())
    result = await asyncio.wait_for(run, 300)
    assert result.outcome == "stopped" and not result.ok
    assert exit_code_for(result) == 1
    rec.check_accounting(session)
    # what was in flight at the stop finished rather than being cancelled
    assert not any(isinstance(e, ev.AttemptCancelled) for e in rec.events)
    done = len(rec.of(ev.UnitDone))
    assert 3 <= done < result.units_total
    info = ffprobe(output)
    db = _journal(output)
    kept = db.execute("SELECT SUM(duration) FROM audio").fetchone()[0]
    assert abs(float(info["format"]["duration"]) - kept) < 0.25


async def test_abort_cancels_in_flight_keeps_the_journal_and_writes_nothing(tmp_path: Path,
                                                                           sample_epub: Path) -> None:
    session, rec, output = _session(tmp_path, sample_epub, LocalCluster(2, workdir=tmp_path / "w"), "aborted")
    run = asyncio.ensure_future(session.run())
    await rec.wait_for(lambda e: isinstance(e, ev.UnitDone))
    session.send(cmd.Abort())
    result = await asyncio.wait_for(run, 120)
    assert result.outcome == "aborted" and exit_code_for(result) == 130
    rec.check_accounting(session)
    assert not output.exists()
    assert _journal(output).execute("SELECT COUNT(*) FROM audio").fetchone()[0] >= 1


async def test_headless_lines_and_progress_endpoint_show_the_state_models_numbers(tmp_path: Path,
                                                                                 sample_epub: Path) -> None:
    import io
    import re
    import socket

    import httpx

    from tui.core.progress_server import progress_snapshot, serve_progress
    from tui.frontends.headless import HeadlessRenderer

    session, rec, output = _session(tmp_path, sample_epub, LocalCluster(2, workdir=tmp_path / "w"), "views")
    out = io.StringIO()
    session.subscribe(HeadlessRenderer(session.state, out, interactive=False, log_interval=0.0))
    seen: list[tuple[int, int, float]] = []  # (done, total, percent) the state model passed through
    lines: list[str] = []

    def after_renderer(event: object) -> None:
        o = session.state.overall
        seen.append((o.units_done, o.units_total, round(session.state.percent(), 1)))
        if isinstance(event, ev.UnitDone):
            lines.append(f"progress: {o.units_done}/{o.units_total} units ({session.state.percent():.0f}%)")

    session.subscribe(after_renderer)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await serve_progress(session, port, "sid")
    bodies = []
    try:
        run = asyncio.ensure_future(session.run())
        async with httpx.AsyncClient(trust_env=False, base_url=f"http://127.0.0.1:{port}") as http:
            while not run.done():
                bodies.append((await http.get("/progress/sid")).json())
                await asyncio.sleep(0.2)
            result = await run
            final = (await http.get("/progress/sid")).json()
    finally:
        server.cancel()
    assert result.ok, result.error
    printed = [m.group(0) for m in re.finditer(r"progress: \d+/\d+ units \(\d+%\)", out.getvalue())]
    assert printed == lines and len(lines) == result.units_synthesized
    states = {(done, total, pct) for done, total, pct in seen}
    for body in bodies:
        if body["total_units"]:
            assert (body["completed_units"], body["total_units"], body["progress_percent"]) in states, body
    assert any(0 < b["completed_units"] < b["total_units"] for b in bodies), "never polled mid-run"
    assert final == progress_snapshot(session.state, "sid").model_dump()
    assert final["completed_units"] == final["total_units"] == result.units_total
    assert final["completed_chapters"] == final["total_chapters"] == 3


async def test_voice_sample_is_uploaded_once_per_worker_and_named_in_every_request(tmp_path: Path,
                                                                                  sample_epub: Path) -> None:
    import numpy as np
    import soundfile

    from tui.hashing import file_sha256

    wav = tmp_path / "narrator.wav"
    t = np.arange(22050 * 2) / 22050
    soundfile.write(wav, (0.2 * np.sin(2 * np.pi * 220 * t)).astype("float32"), 22050)
    counting = FaultRule("never-matches-anything")
    cluster = _Proxied(tmp_path / "w", 2, [[counting], [counting]])
    session, rec, output = _session(tmp_path, sample_epub, cluster, "voice", voice_sample=wav)
    result = await asyncio.wait_for(session.run(), 300)
    assert result.ok, result.error
    uploader = session.run_driver.voices
    assert uploader is not None and uploader.sample.sha256 == file_sha256(wav)
    assert uploader.uploads == 2, "one upload per worker, never one per unit"
    assert result.units_synthesized > 2
    seen_voice = [p.voice_requests for p in cluster.proxies]
    assert all(n == 1 for n in seen_voice), seen_voice
    rec.check_accounting(session)


async def test_unreadable_voice_sample_is_a_one_line_error_before_any_worker_starts(tmp_path: Path,
                                                                                   sample_epub: Path) -> None:
    from tui.core.options import RunError

    cluster = LocalCluster(1, workdir=tmp_path / "w")
    session, rec, _ = _session(tmp_path, sample_epub, cluster, "novoice", voice_sample=tmp_path / "missing.wav")
    with pytest.raises(RunError, match="cannot read voice sample"):
        await session.run()
    assert not cluster.workers and not rec.of(ev.WorkerStateChanged)
