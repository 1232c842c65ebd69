"""Folding cost of the state model: events per second, and the CPU share of a big cluster.

A simulated run — N workers reporting ``/status`` every 2 s and finishing
units at their own speeds — is generated as an event stream first, then folded
into a RunState (with the headless view's numbers read once a second, as a
front end would). Printed: events folded per CPU second, and the fold's CPU
time as a share of one core over the simulated wall time, for each N side by side.

    python bench/state_fold.py [--workers 1,8,64] [--units 2000] [--minutes 10]
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from remote_worker.protocol import StatusResponse  # noqa: E402
from tui.core import events as ev  # noqa: E402
from tui.core.state import RunState  # noqa: E402


def simulated_stream(workers: int, units: int, minutes: float, seed: int = 1) -> list[tuple[float, ev.Event]]:
    """A run of ``units`` units spread so the cluster finishes in about ``minutes``."""
    rng = random.Random(seed)
    chapters = max(1, units // 40)
    plans = tuple(ev.UnitPlan(f"c{i % chapters:04d}-u{i:05d}", i % chapters, 1500, 100.0) for i in range(units))
    span = minutes * 60
    per_unit = span * workers / units  # wall seconds a unit takes on one worker
    out: list[tuple[float, ev.Event]] = [
        (0.0, ev.BookLoaded("Book", "Author", "/out.m4b",
                            tuple(ev.ChapterInfo(c, f"Chapter {c + 1}", 5000) for c in range(chapters)))),
        (0.0, ev.RunPlanned("s", plans)),
        (0.0, ev.RunStarted("Book", units, chapters, 0, 100.0 * units, tuple(f"w{i}" for i in range(workers)))),
    ]
    heap: list[tuple[float, int, str]] = []
    aid = 0
    queue = list(plans)
    speed = {f"w{i}": rng.uniform(0.7, 1.3) for i in range(workers)}
    for w in speed:
        for _ in range(2):  # one running, one queued
            if queue:
                plan = queue.pop(0)
                aid += 1
                out.append((0.0, ev.UnitStarted(aid, plan.unit_id, plan.chapter_index, w, 1)))
                heapq.heappush(heap, (per_unit / speed[w] * rng.uniform(0.8, 1.2), aid, w + "|" + plan.unit_id))
    done_events = []
    while heap:
        t, a, key = heapq.heappop(heap)
        w, uid = key.split("|")
        chapter = int(uid[1:5])
        done_events.append((t, ev.UnitDone(a, uid, chapter, w, 100.0, per_unit, 1500, speed[w])))
        if queue:
            nxt = queue.pop(0)
            aid += 1
            done_events.append((t, ev.UnitStarted(aid, nxt.unit_id, nxt.chapter_index, w, 1)))
            heapq.heappush(heap, (t + per_unit / speed[w] * rng.uniform(0.8, 1.2), aid, w + "|" + nxt.unit_id))
    end = done_events[-1][0] if done_events else span
    status = StatusResponse(status="busy", current_chapter=None, gpu_memory_free_mb=1000, uptime_seconds=1,
                            engine="xtts", device="cuda", gpu_name="H200", gpu_memory_used_mb=9000.0,
                            gpu_memory_total_mb=143000.0, gpu_utilization_percent=90.0, queued=1)
    telemetry = [(t * 2.0, ev.WorkerTelemetry(f"w{i}", status)) for t in range(int(end / 2) + 1) for i in range(workers)]
    out.extend(sorted(done_events + telemetry, key=lambda x: x[0]))
    return out


def fold(stream: list[tuple[float, ev.Event]]) -> tuple[float, int, float]:
    """(CPU seconds, events, simulated seconds) to fold ``stream`` and read the numbers once a second."""
    state = RunState(clock=lambda: 0.0)
    next_read = 0.0
    started = time.process_time()
    for t, event in stream:
        state.apply(event, now=t)
        if t >= next_read:  # what a front end reads on its timer
            state.speed(t), state.eta(t), state.percent()
            for name in state.workers:
                state.worker_throughput(name, t)
            next_read = t + 1.0
    cpu = time.process_time() - started
    assert state.overall.units_done == state.overall.units_total
    return cpu, len(stream), stream[-1][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,8,64")
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    print(f"{'workers':>7} {'events':>8} {'sim s':>7} {'cpu s':>7} {'events/cpu s':>13} {'cpu share':>9}")
    for n in (int(x) for x in args.workers.split(",")):
        stream = simulated_stream(n, args.units, args.minutes)
        cpu, count, sim = fold(stream)
        print(f"{n:>7} {count:>8} {sim:>7.0f} {cpu:>7.2f} {count / cpu:>13.0f} {100 * cpu / sim:>8.2f}%")


if __name__ == "__main__":
    main()
