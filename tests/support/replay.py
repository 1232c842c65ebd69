"""Recorded event streams and a stand-in session: the dashboard without real workers.

Snapshot tests, the dashboard's pilot tests and the load benchmark feed these
into a :class:`RunState` with a fake clock, so what the dashboard shows is the
same on every run.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Optional

from remote_worker.protocol import StatusResponse

from tui.core import commands as cmd
from tui.core import events as ev
from tui.core.scheduler import UnitState
from tui.core.state import RunState

__all__ = ["FakeClock", "StandInSession", "replay", "book_events", "finished_event", "bootstrap_events"]


class FakeClock:
    """A clock that moves only when told to (``RunState(clock=FakeClock())``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StandInSession:
    """``.state`` and ``.send``: records each command with the moment it arrived (``perf_counter``)."""

    def __init__(self, state: RunState, on_send: Optional[Callable[[cmd.Command], None]] = None) -> None:
        self.state = state
        self.sent: list[tuple[float, cmd.Command]] = []
        self.on_send = on_send

    def send(self, command: cmd.Command) -> None:
        self.sent.append((time.perf_counter(), command))
        if self.on_send is not None:
            self.on_send(command)


def replay(state: RunState, clock: FakeClock, events: Iterable[tuple[float, ev.Event]]) -> None:
    """Apply ``(seconds after the previous event, event)`` pairs, moving the fake clock between them."""
    for delay, event in events:
        clock.advance(delay)
        state.apply(event)


CHAPTERS = (("The Clock That Ran Slow", 93), ("A Visitor from the Mainland", 91),
            ("The Last Night of the Light", 95), ("Epilogue: [bold]not markup[/bold]", 40))


def _status(name: str, gpu: bool, done: int) -> StatusResponse:
    return StatusResponse(
        status="busy", engine="xtts" if gpu else "piper", voice="joe", device="cuda" if gpu else "cpu",
        provider="CUDAExecutionProvider" if gpu else "CPUExecutionProvider", threads=1,
        gpu_name="NVIDIA A10" if gpu else None, gpu_memory_used_mb=6144.0 if gpu else None,
        gpu_memory_total_mb=24576.0 if gpu else None, gpu_utilization_percent=87.0 if gpu else None,
        units_done=done, uptime_seconds=120.0, version="0.1.0")


def book_events(units_per_chapter: int = 4) -> list[tuple[float, ev.Event]]:
    """A run mid-way: two workers (one GPU), chapter 1 done, chapter 2 running, a quarantined unit in 3."""
    out: list[tuple[float, ev.Event]] = []
    chapters = tuple(ev.ChapterInfo(i, title, words) for i, (title, words) in enumerate(CHAPTERS))
    out.append((0.0, ev.BookLoaded("The Lighthouse Keeper", "E. Sample", "/books/lighthouse.m4b", chapters)))
    out.append((0.1, ev.RunPhase("starting", "starting workers")))
    for name, host, gpu in (("gpu-a-0", "gpu-a", 0), ("local-1", "localhost", None)):
        out.append((0.2, ev.WorkerStateChanged(name, "starting", host, gpu_index=gpu)))
        out.append((0.5, ev.WorkerStateChanged(name, "up", host, gpu_index=gpu)))
        out.append((0.0, ev.WorkerTelemetry(name, _status(name, gpu is not None, 0))))
    plans = tuple(ev.UnitPlan(f"c{c:04d}-u{u:04d}", c, 240, 16.0)
                  for c in range(len(CHAPTERS)) for u in range(units_per_chapter))
    out.append((0.1, ev.RunPlanned("abc123", plans)))
    out.append((0.0, ev.RunStarted("The Lighthouse Keeper", len(plans), len(CHAPTERS), 0,
                                   sum(p.est_seconds for p in plans), ("gpu-a-0", "local-1"))))
    attempt = 0
    workers = ("gpu-a-0", "local-1")
    for i, plan in enumerate(plans[:units_per_chapter + 2]):
        attempt += 1
        worker = workers[i % 2]
        out.append((0.3, ev.UnitStarted(attempt, plan.unit_id, plan.chapter_index, worker, 1)))
        out.append((2.0 if worker == "gpu-a-0" else 3.5,
                    ev.UnitDone(attempt, plan.unit_id, plan.chapter_index, worker, 16.2, 2.0, 240, 8.0)))
    out.append((0.0, ev.ChapterDone(0, CHAPTERS[0][0], 64.8)))
    bad = plans[2 * units_per_chapter]
    attempt += 1
    out.append((0.2, ev.UnitStarted(attempt, bad.unit_id, 2, "local-1", 1)))
    out.append((0.8, ev.AttemptFailed(attempt, bad.unit_id, 2, "local-1",
                                      "HTTP 500: injected failure [red]kept literal[/red]", quarantined=True)))
    out.append((0.0, ev.Notice("warning", f"unit {bad.unit_id} quarantined after 1 failure")))
    for i, plan in enumerate(plans[units_per_chapter + 2:units_per_chapter + 4]):
        attempt += 1
        out.append((0.2, ev.UnitStarted(attempt, plan.unit_id, plan.chapter_index, workers[i % 2], 1)))
    out.append((0.5, ev.WorkerTelemetry("gpu-a-0", _status("gpu-a-0", True, 3))))
    out.append((0.0, ev.WorkerTelemetry("local-1", _status("local-1", False, 2))))
    out.append((0.0, ev.Notice("info", "dispatch resumed")))
    out.append((0.0, ev.Notice("error", "worker said: \x1b[31mred?\x1b[0m [bold]brackets[/bold] stay")))
    return out


def finished_event(state: RunState) -> ev.RunFinished:
    """A partial end for :func:`book_events` (one unit quarantined)."""
    quarantined = tuple(u.unit_id for u in state.units.values() if u.state is UnitState.QUARANTINED)
    return ev.RunFinished(
        ok=False, outputs=("/books/lighthouse.m4b",), audio_seconds=230.0, wall_seconds=31.0,
        units_total=len(state.units), units_synthesized=len(state.units) - len(quarantined), units_reused=0,
        quarantined=quarantined, per_worker={"gpu-a-0": {"units": 9, "audio_seconds": 145.0},
                                             "local-1": {"units": 6, "audio_seconds": 85.0}},
        tail_seconds=1.5, error=f"{len(quarantined)} unit(s) missing", outcome="partial",
        errors={u: "HTTP 500: injected failure" for u in quarantined})


def bootstrap_events() -> list[tuple[float, ev.Event]]:
    """Three hosts: one healthy, one still installing, one failed at preflight."""
    return [
        (0.0, ev.HostPhase("gpu-a", "connect", "ubuntu@10.0.0.5")),
        (0.0, ev.HostPhase("gpu-b", "connect", "ubuntu@10.0.0.6")),
        (0.0, ev.HostPhase("gpu-c", "connect", "root@10.0.0.7")),
        (0.4, ev.HostPhase("gpu-a", "preflight")),
        (0.1, ev.HostPhase("gpu-b", "preflight")),
        (0.2, ev.HostPhase("gpu-c", "preflight")),
        (0.6, ev.HostRecapped("gpu-c", "failed", "preflight", "python3 3.8 is too old (need 3.10+)",
                              output=("Python 3.8.10",))),
        (1.0, ev.HostPhase("gpu-a", "upload", "2 wheel(s), 1.4 MB")),
        (0.5, ev.HostPhase("gpu-b", "install", "pip install")),
        (2.0, ev.HostPhase("gpu-a", "start", "gpu-a-0")),
        (1.5, ev.HostRecapped("gpu-a", "changed", changes=("installed e2a-tui 0.1.0", "started gpu-a-0"),
                              workers=("gpu-a-0",))),
    ]
