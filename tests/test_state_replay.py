"""The state model replayed: an event stream in, the view a person reads out.

Two streams: a short hand-written one whose every number is worked out here,
and a recording of a real run (2 local workers, the sample book, chapter 1
requeued with redo and dispatch paused for a second mid-run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from remote_worker.protocol import StatusResponse
from tui.core import events as ev
from tui.core.recording import event_from_json, event_to_json, read_recording, replay
from tui.core.scheduler import UnitState
from tui.core.state import RunState

RECORDING = Path(__file__).parent / "data" / "sample_run.jsonl"


def _stream() -> list[tuple[float, ev.Event]]:
    u = [f"c0000-u000{i}" for i in range(3)] + ["c0001-u0000"]
    status = StatusResponse(status="busy", current_chapter=u[0], gpu_memory_free_mb=1000, uptime_seconds=5,
                            engine="piper", device="cuda", provider="CUDAExecutionProvider", gpu_name="H200",
                            gpu_memory_used_mb=3000.0, gpu_memory_total_mb=4000.0, gpu_utilization_percent=87.0,
                            queued=1)
    return [
        (0.0, ev.BookLoaded("Book", "Ann Author", "/out/book.m4b",
                            (ev.ChapterInfo(0, "One", 300), ev.ChapterInfo(1, "Two", 100)))),
        (0.0, ev.HostPhase("gpu1", "connect", "me@gpu1:22")),
        (1.0, ev.HostPhase("gpu1", "install", "installing")),
        (4.0, ev.HostRecapped("gpu1", "changed", changes=("installed",), workers=("gpu1/0",))),
        (4.0, ev.WorkerStateChanged("gpu1/0", "starting", "gpu1", gpu_index=0)),
        (4.0, ev.WorkerStateChanged("w2", "starting", "box")),
        (5.0, ev.RunPlanned("s1", (ev.UnitPlan(u[0], 0, 100, 10.0), ev.UnitPlan(u[1], 0, 100, 10.0),
                                   ev.UnitPlan(u[2], 0, 100, 10.0), ev.UnitPlan(u[3], 1, 100, 10.0)))),
        (5.0, ev.WorkerStateChanged("gpu1/0", "up", "gpu1", "piper")),
        (5.0, ev.WorkerStateChanged("w2", "up", "box", "piper")),
        (5.0, ev.RunStarted("Book", 4, 2, 0, 40.0, ("gpu1/0", "w2"))),
        (5.0, ev.UnitStarted(1, u[0], 0, "gpu1/0", 1)),
        (5.0, ev.UnitStarted(2, u[1], 0, "w2", 1)),
        (5.5, ev.UnitStarted(3, u[2], 0, "gpu1/0", 1)),
        (6.0, ev.WorkerTelemetry("gpu1/0", status)),
        (6.0, ev.AttemptBusy(3, u[2], 0, "gpu1/0")),
        (7.0, ev.AttemptLost(2, u[1], 0, "w2", "w2: ConnectError")),
        (7.0, ev.WorkerStateChanged("w2", "down", "box", "w2: ConnectError")),
        (7.0, ev.UnitRequeued(u[1], 0, "w2 lost")),
        (15.0, ev.UnitDone(1, u[0], 0, "gpu1/0", 10.0, 10.0, 100, 1.0)),
        (15.0, ev.UnitStarted(4, u[1], 0, "gpu1/0", 2)),
        (20.0, ev.AttemptFailed(4, u[1], 0, "gpu1/0", "gpu1/0: 500 [boom]\x1b[2J", quarantined=True)),
        (20.0, ev.DispatchChanged(True)),
        (21.0, ev.Notice("info", "dispatch paused")),
    ]


def test_hand_written_stream_gives_the_expected_view() -> None:
    state = RunState(clock=lambda: 25.0)
    for t, event in _stream():
        state.apply(event, now=t)
    o = state.overall
    assert (o.title, o.author, o.output, o.session_id) == ("Book", "Ann Author", "/out/book.m4b", "s1")
    assert (o.units_total, o.units_done, o.units_running, o.units_failed, o.units_quarantined) == (4, 1, 0, 0, 1)
    assert o.audio_done == 10.0 and o.est_audio_left == 30.0 and o.paused
    # 10 s of audio in the 20 s since dispatch began: 0.5x; 30 s estimated left → 60 s
    assert state.speed(25.0) == pytest.approx(10.0 / 20.0)
    assert state.eta(25.0) == pytest.approx(60.0)
    assert state.elapsed(25.0) == 25.0
    assert state.percent() == 25.0

    one, two = state.chapters[0], state.chapters[1]
    assert (one.units_total, one.done, one.running, one.quarantined, one.state) == (3, 1, 0, 1, "quarantined")
    assert one.attempts == 4 and one.workers == ["gpu1/0", "w2"] and one.audio_seconds == 10.0
    assert round(one.percent, 1) == 33.3 and one.words == 300
    assert (two.state, two.done, two.units_total) == (UnitState.PENDING, 0, 1)

    gpu, w2 = state.workers["gpu1/0"], state.workers["w2"]
    assert (gpu.state, gpu.host, gpu.gpu_index, gpu.gpu_name) == ("paused", "gpu1", 0, "H200")
    assert (gpu.gpu_memory_used_mb, gpu.gpu_memory_total_mb, gpu.gpu_utilization_percent) == (3000.0, 4000.0, 87.0)
    assert gpu.device == "cuda/CUDAExecutionProvider" and gpu.queue_depth == 1 and gpu.status["queued"] == 1
    assert (gpu.units_done, gpu.units_failed, gpu.current_unit, gpu.speed_estimate) == (1, 1, None, 1.0)
    xrt, cps = state.worker_throughput("gpu1/0", 25.0)
    assert xrt == pytest.approx(10.0 / 20.0) and cps == pytest.approx(100 / 20.0)
    assert (w2.state, w2.reason) == ("down", "w2: ConnectError")

    unit = state.units["c0000-u0001"]
    assert (unit.state, unit.attempts, unit.workers) == ("quarantined", 2, ["w2", "gpu1/0"])
    assert unit.last_error == "gpu1/0: 500 [boom]"  # kept literally, the escape sequence dropped
    host = state.hosts["gpu1"]
    assert host.phase == "healthy" and host.recap.state == "changed" and host.elapsed(30.0) == 4.0
    assert [n.message for n in state.notices] == ["dispatch paused"]

    # retry: the quarantined unit waits again, and the counts follow
    state.apply(ev.ChapterReopened(0, ("c0000-u0001",)), now=26.0)
    assert state.units["c0000-u0001"].state is UnitState.PENDING and state.overall.units_quarantined == 0
    assert state.chapters[0].state is UnitState.PENDING


def test_a_speculative_copy_and_a_redo_never_count_a_unit_twice() -> None:
    state = RunState()
    for t, event in _stream()[:10]:
        state.apply(event, now=t)
    uid = "c0001-u0000"
    state.apply(ev.UnitStarted(10, uid, 1, "gpu1/0", 1), now=6.0)
    state.apply(ev.UnitStarted(11, uid, 1, "w2", 2, speculative=True), now=7.0)
    assert state.chapters[1].running == 1 and state.overall.units_running == 1
    state.apply(ev.UnitDone(11, uid, 1, "w2", 8.0, 1.0), now=8.0)
    state.apply(ev.AttemptCancelled(10, uid, 1, "gpu1/0", "duplicate: another copy finished first"), now=8.0)
    assert state.overall.units_done == 1 and state.chapters[1].state == "done"
    assert not state.workers["gpu1/0"].current
    state.apply(ev.ChapterReopened(1, (uid,), redo=True), now=9.0)
    assert state.overall.units_done == 0 and state.units[uid].state is UnitState.PENDING
    state.apply(ev.UnitStarted(12, uid, 1, "gpu1/0", 1), now=9.0)
    state.apply(ev.UnitDone(12, uid, 1, "gpu1/0", 8.5, 1.0), now=10.0)
    assert state.overall.units_done == 1 and state.overall.audio_done == 8.5


def test_recorded_real_run_replays_to_its_own_result() -> None:
    recording = list(read_recording(RECORDING))
    state = RunState()
    replay(state, recording)
    events = [e for _, e in recording]
    result = next(e for e in events if isinstance(e, ev.RunFinished))
    o = state.overall
    assert result.ok and o.phase == "finished" and o.result == result
    assert o.units_total == o.units_done == result.units_total
    assert o.units_synthesized == result.units_synthesized > result.units_total  # the redone units
    assert o.audio_done == pytest.approx(result.audio_seconds)
    assert all(c.state == "done" and c.done == c.units_total for c in state.chapters.values())
    assert sum(w.units_done for w in state.workers.values()) == result.units_synthesized
    assert {n: w.units_done for n, w in state.workers.items()} == {
        n: int(s["units"]) for n, s in result.per_worker.items()}
    assert not any(u.running for u in state.units.values())
    assert any(isinstance(e, ev.ChapterReopened) and e.redo for e in events)
    assert o.segments_done == o.segments_total > 0
    started = sorted(e.attempt_id for e in events if isinstance(e, ev.UnitStarted))
    ended = sorted(e.attempt_id for e in events if isinstance(e, ev.ATTEMPT_ENDINGS))
    assert started == ended


def test_events_round_trip_through_json() -> None:
    for t, event in _stream():
        back_t, back = event_from_json(event_to_json(event, t))
        assert back == event and back_t == t
