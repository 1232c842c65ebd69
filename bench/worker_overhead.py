"""What the HTTP worker costs on top of the bare engine, measured side by side in one run.

1. raw:  the same units through a Piper engine in this process (synthesis only).
2. seq:  the units through ``python -m remote_worker`` over loopback HTTP, one request in flight.
3. pipe: the same with two requests in flight, as the orchestrator dispatches.

Prints wall time of each, the ratio HTTP/raw (goal <= 1.03 for pipe), the worker's
engine-busy fraction during the pipelined run (goal >= 0.95), read from its ``/status``,
and the CPU seconds the worker process spent against those of the raw engine.
Each round runs the three modes back to back and takes their ratios within the round;
the medians over rounds are reported, which keeps slow drifts in machine load out of the ratio.

    python bench/worker_overhead.py [--units 6] [--sentences 4] [--threads N] [--rounds 3] [--mode url|base64]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import selectors
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from remote_worker.engines import get_engine  # noqa: E402
from remote_worker.engines.piper import cpu_count  # noqa: E402
from remote_worker.protocol import TTSConfig  # noqa: E402

TEXT = [
    "The lighthouse keeper had lived alone on the island for eleven years.",
    "Each evening he climbed the hundred and twelve steps to light the great lamp.",
    "Ships passed far out on the horizon, and none of them ever stopped.",
    "He kept a journal of the weather, the birds, and the colour of the sea.",
    "In winter the storms came from the north and shook the windows in their frames.",
    "In summer the water turned so clear that he could count the stones on the bottom.",
    "Once a year a boat brought flour, oil, lamp wicks and a bundle of old newspapers.",
    "He read the newspapers slowly, one a day, as though the news were still fresh.",
    "One spring morning he found a small wooden boat pulled up on the shingle.",
    "There was nobody in it, only a coil of rope and a tin cup with a chipped rim.",
    "He searched the whole island that day and found no footprints but his own.",
    "That night, for the first time in eleven years, he left a second cup on the table.",
    "The wind dropped, the fog rolled in, and the lamp turned through the grey.",
    "Near midnight he heard someone knock, three times, at the heavy lower door.",
    "He stood at the top of the stairs for a long while before he went down.",
    "When he opened the door, the fog was empty, but the tin cup was gone from the boat.",
]


def make_units(units: int, per_unit: int) -> list[list[str]]:
    sentences = [TEXT[i % len(TEXT)] for i in range(units * per_unit)]
    return [sentences[i * per_unit : (i + 1) * per_unit] for i in range(units)]


def run_raw(engine, units: list[list[str]]) -> tuple[float, float]:
    """Wall and CPU seconds of this process synthesising every sentence."""
    config = TTSConfig()
    began, cpu_began = time.perf_counter(), time.process_time()
    for unit in units:
        for sentence in unit:
            engine.synthesize(sentence, config)
    return time.perf_counter() - began, time.process_time() - cpu_began


def process_cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of another process (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_worker(threads: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "remote_worker", "--port", "0", "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = proc.stdout.readline()
            if line.startswith("E2A_WORKER_PORT="):
                return proc, f"http://127.0.0.1:{int(line.split('=', 1)[1])}"
            if not line:
                break
    proc.kill()
    raise SystemExit("worker did not start")


async def run_http(base_url: str, units: list[list[str]], in_flight: int, mode: str) -> tuple[float, float]:
    """Wall seconds for all units, and engine seconds the worker spent meanwhile."""
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=600) as client:
        engine_before = (await client.get("/status")).json()["synthesis_seconds"]
        pending = list(enumerate(units))

        async def lane() -> None:
            while pending:
                index, sentences = pending.pop(0)
                r = await client.post(
                    "/process_chapter",
                    json={"chapter_id": index, "sentences": sentences, "response_mode": mode},
                )
                r.raise_for_status()
                body = r.json()
                if mode == "url":
                    data = (await client.get(body["audio_url"])).content
                else:
                    data = base64.b64decode(body["audio_base64"])
                if hashlib.sha256(data).hexdigest() != body["sha256"]:
                    raise SystemExit("audio corrupted in transfer")

        began = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(in_flight)))
        wall = time.perf_counter() - began
        engine_after = (await client.get("/status")).json()["synthesis_seconds"]
    return wall, engine_after - engine_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=6)
    parser.add_argument("--sentences", type=int, default=4, help="sentences per unit")
    parser.add_argument("--threads", type=int, default=cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", choices=("url", "base64"), default="url")
    args = parser.parse_args()

    units = make_units(args.units, args.sentences)
    engine = get_engine("piper", threads=args.threads)
    engine.load()
    run_raw(engine, [TEXT[:2]])  # warm-up
    proc, base_url = start_worker(args.threads)
    try:
        asyncio.run(run_http(base_url, [TEXT[:2]], 1, args.mode))  # warm-up
        rows = []
        for round_no in range(1, args.rounds + 1):
            raw, raw_cpu = run_raw(engine, units)
            cpu_began = process_cpu_seconds(proc.pid)
            pipe, engine_seconds = asyncio.run(run_http(base_url, units, 2, args.mode))
            pipe_cpu = process_cpu_seconds(proc.pid) - cpu_began
            seq, _ = asyncio.run(run_http(base_url, units, 1, args.mode))
            rows.append((raw, seq, pipe, engine_seconds / pipe, pipe_cpu / raw_cpu))
            print(f"round {round_no}: raw {raw:6.2f}s  seq {seq:6.2f}s ({seq / raw:.3f})  "
                  f"pipe {pipe:6.2f}s ({pipe / raw:.3f})  engine-busy {engine_seconds / pipe:.3f}  "
                  f"worker-cpu/raw-cpu {pipe_cpu / raw_cpu:.3f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    raw, seq, pipe, busy, cpu_ratio = (statistics.median(column) for column in zip(*rows))
    print(f"units {args.units} x {args.sentences} sentences, threads {args.threads}, transfer {args.mode}, "
          f"cpus {os.cpu_count()}, medians of {args.rounds} rounds")
    print(f"raw engine            {raw:7.2f} s")
    print(f"http, 1 in flight     {seq:7.2f} s   ratio {statistics.median(r[1] / r[0] for r in rows):.3f}")
    print(f"http, 2 in flight     {pipe:7.2f} s   ratio {statistics.median(r[2] / r[0] for r in rows):.3f}"
          "   (goal <= 1.03)")
    print(f"engine-busy fraction  {busy:7.3f}     (2 in flight, goal >= 0.95)")
    print(f"CPU seconds, worker (2 in flight) / raw engine: {cpu_ratio:.3f}   (load on the machine inflates wall"
          " ratios, far less this one)")

if __name__ == "__main__":
    main()
