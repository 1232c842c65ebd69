"""Cheap smoke versions of the load benches (counts only, never timings).

Each takes well under 20 s; the benches themselves (bench/status_poll_load.py,
bench/cluster_load.py, bench/soak.py) measure and print the numbers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx


from bench.status_poll_load import RawClient, keep_busy, one_window
from tests.support.orchestrator_load import leaked_fds, measured_run
from tests.support.worker_helpers import start_worker


async def test_tone_cluster_run_leaves_no_fds_or_children(tmp_path: Path) -> None:
    r = await measured_run(workers=8, procs=1, words=1500, speed=50.0, rate=8000, fmt="mp3", telemetry=0.5,
                           chapters=3, keep=tmp_path)
    result = r["result"]
    assert result.outcome == "complete", result.error
    assert result.units_synthesized == result.units_total > 8
    assert r["marks"].units_done == result.units_total
    assert r["marks"].failures == 0
    assert not leaked_fds(r), f"{leaked_fds(r)}; threads: {r['thread_names']}"
    # children of this process that the run left behind (a test host's sshd started earlier is not one)
    assert sorted(set(r["children_after"]) - set(r["children_before"])) == []


async def test_status_answers_every_poller_during_synthesis() -> None:
    with start_worker("--threads", "1") as worker:
        stop = asyncio.Event()
        busy = asyncio.ensure_future(keep_busy(worker.base_url, 200, stop))
        async with httpx.AsyncClient(base_url=worker.base_url, trust_env=False, timeout=10) as http:
            for _ in range(600):
                if (await http.get("/status")).json()["status"] == "busy":
                    break
                await asyncio.sleep(0.05)
        clients = [RawClient(worker.base_url) for _ in range(50)]
        row = await one_window(clients, worker.proc.pid, 2.0, 0.2)
        for client in clients:
            await client.aclose()
        stop.set()
        await busy
    assert row["errors"] == 0
    assert row["n"] >= 50
    assert row["busy"] == 1.0
