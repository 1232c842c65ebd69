"""Dashboard under load: 64 simulated workers reporting every 2 s, 2 000 units, keys pressed meanwhile.

No real workers: a simulated driver on the app's loop pushes events into a
RunState; a stand-in session timestamps each command it is sent. Prints the
process's CPU share (CPU time / wall time over the measured window, app and
simulator together, headless rendering) and the time from a key press to the
command reaching the session.

    python bench/dashboard_load.py [--seconds 20] [--workers 64] [--units 2000]

Goals: under 15 % of one core; under 100 ms from key to session.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from remote_worker.protocol import StatusResponse  # noqa: E402
from tui.core import events as ev  # noqa: E402
from tui.core.state import RunState  # noqa: E402
from tui.dashboard.app import DashboardApp  # noqa: E402
from tests.support.replay import StandInSession  # noqa: E402

TELEMETRY_EVERY = 2.0


async def drive(state: RunState, workers: int, units: int, chapters: int, stop: asyncio.Event) -> dict:
    """Publish a plausible run: every worker takes units one at a time and reports /status every 2 s."""
    rng = random.Random(7)
    apply = state.apply
    infos = tuple(ev.ChapterInfo(i, f"Chapter {i + 1}: a title of ordinary length", 3000) for i in range(chapters))
    apply(ev.BookLoaded("A Long Book", "An Author", "/tmp/long.m4b", infos))
    names = [f"gpu{w // 8:02d}-{w % 8}" for w in range(workers)]
    for i, name in enumerate(names):
        apply(ev.WorkerStateChanged(name, "up", f"gpu{i // 8:02d}", gpu_index=i % 8))
    plans = tuple(ev.UnitPlan(f"c{u * chapters // units:04d}-u{u:04d}", u * chapters // units, 300, 20.0)
                  for u in range(units))
    apply(ev.RunPlanned("bench", plans))
    apply(ev.RunStarted("A Long Book", units, chapters, 0, 20.0 * units, tuple(names)))
    queue = list(plans)
    counts = {"events": 0}
    attempt = 0

    async def worker(name: str) -> None:
        nonlocal attempt
        while queue and not stop.is_set():
            plan = queue.pop(0)
            attempt += 1
            mine = attempt
            apply(ev.UnitStarted(mine, plan.unit_id, plan.chapter_index, name, 1))
            wall = rng.uniform(8.0, 16.0)  # ~20 s of audio at 1.2–2.5× real time per worker
            await asyncio.sleep(wall)
            if stop.is_set():
                return
            if rng.random() < 0.02:
                apply(ev.AttemptFailed(mine, plan.unit_id, plan.chapter_index, name, "HTTP 500: injected"))
                queue.append(plan)
            else:
                apply(ev.UnitDone(mine, plan.unit_id, plan.chapter_index, name, 20.0, wall, 300, 20.0 / wall))
            counts["events"] += 2

    async def telemetry() -> None:
        while not stop.is_set():
            for i, name in enumerate(names):
                apply(ev.WorkerTelemetry(name, StatusResponse(
                    status="busy", engine="xtts", device="cuda", provider="CUDAExecutionProvider",
                    gpu_name="NVIDIA A100", gpu_memory_used_mb=10000.0 + rng.uniform(0, 5000),
                    gpu_memory_total_mb=40960.0, gpu_utilization_percent=rng.uniform(60, 99))))
                counts["events"] += 1
            await asyncio.sleep(TELEMETRY_EVERY)

    # workers start spread over the first 2 s, as real ones would
    tasks = [asyncio.ensure_future(telemetry())]
    for name in names:
        tasks.append(asyncio.ensure_future(worker(name)))
        await asyncio.sleep(2.0 / workers)
    await stop.wait()
    for task in tasks:
        task.cancel()
    return counts


async def main(seconds: float, workers: int, units: int, refresh: float = 0.25) -> None:
    state = RunState()
    session = StandInSession(state)
    stop = asyncio.Event()
    results: dict = {}

    async def simulation() -> None:
        results.update(await drive(state, workers, units, 40, stop))

    app = DashboardApp(session, background=[simulation], refresh_interval=refresh)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause(3.0)  # warm up: every worker has started and reported once
        cpu0, wall0 = time.process_time(), time.perf_counter()
        latencies = []
        end = wall0 + seconds
        key = 0
        while time.perf_counter() < end:
            await asyncio.sleep(1.0)
            before = len(session.sent)
            pressed = time.perf_counter()
            await pilot.press("p" if key % 2 == 0 else "d")
            key += 1
            while len(session.sent) == before and time.perf_counter() - pressed < 2.0:
                await asyncio.sleep(0.001)
            if len(session.sent) > before:
                latencies.append(session.sent[before][0] - pressed)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        stop.set()
        await pilot.pause()
    o = state.overall
    print(f"workers {workers}, units {units}, window {wall:.1f} s, units done {o.units_done}, "
          f"state changes {state.version}")
    print(f"CPU: {cpu:.2f} s in {wall:.1f} s = {100 * cpu / wall:.1f} % of one core (goal < 15 %)")
    if latencies:
        ms = sorted(1000 * x for x in latencies)
        print(f"key -> session: median {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms over {len(ms)} presses "
              f"(goal < 100 ms)")
    else:
        print("key -> session: no command arrived")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--refresh", type=float, default=0.25, help="the app's re-render interval (s)")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.workers, args.units, args.refresh))
