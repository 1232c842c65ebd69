"""/status under load: 200 concurrent pollers against a real worker while it synthesises a long unit.

Starts ``python -m remote_worker --port 0`` with the real Piper engine, posts one long unit
(it keeps the engine busy for the whole window), then runs ``--clients`` httpx async clients,
each with its own connection, polling ``/status`` for ``--seconds``. Each client polls every
``--interval`` seconds (random phase); ``--interval 0`` is closed loop (one poll in flight per
client at all times, i.e. ``--clients`` requests always queued at the worker).

Prints p50/p95/p99/max latency per interval and pass/fail against the goal (p99 < 100 ms),
the request rate, errors, whether the worker stayed busy all along, and the CPU share of the
worker and of this (client) process, so a saturated load generator is visible. ``--client raw``
polls over bare asyncio connections instead of httpx: on a small machine 200 httpx clients
saturate this process before the worker, and their latency is then mostly the client's own.
``--baseline`` first runs every interval with the worker idle.

    python bench/status_poll_load.py [--clients 200] [--seconds 10] [--intervals 1,0.5,0] [--threads 1]
                                     [--client httpx|raw] [--baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.worker_helpers import SENTENCES, start_worker  # noqa: E402

GOAL_P99_MS = 100.0


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[k]


async def keep_busy(base_url: str, sentences: int, stop: asyncio.Event) -> int:
    """Post long units back to back until ``stop``; returns how many finished."""
    done = 0
    body = {"chapter_id": "load-unit", "sentences": [SENTENCES[i % len(SENTENCES)] for i in range(sentences)],
            "response_mode": "url"}
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=3600) as http:
        while not stop.is_set():
            task = asyncio.ensure_future(http.post("/process_chapter", json=body))
            stopper = asyncio.ensure_future(stop.wait())
            finished, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if task in finished:
                stopper.cancel()
                task.result().raise_for_status()
                done += 1
                continue
            await http.post("/cancel/load-unit")
            try:
                await task
            except httpx.HTTPError:
                pass
    return done


async def poller(http: httpx.AsyncClient, interval: float, until: float, lat: list[float], busy: list[bool],
                 errors: list[str]) -> None:
    if True:
        if interval > 0:
            await asyncio.sleep(random.uniform(0, interval))
        while time.monotonic() < until:
            began = time.perf_counter()
            try:
                resp = await http.get("/status")
                resp.raise_for_status()
                busy.append(resp.json()["status"] == "busy")
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError, KeyError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:120])
                await asyncio.sleep(0.05)
                continue
            finally:
                elapsed = time.perf_counter() - began
            lat.append(elapsed)
            if interval > 0:
                await asyncio.sleep(max(0.0, interval - elapsed))


class RawClient:
    """A keep-alive HTTP/1.1 connection speaking just enough to GET /status: a much cheaper load
    generator than httpx, to tell the worker's latency from this process's own overhead."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.split("://", 1)[1].rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.reader = self.writer = None
        self.request = f"GET /status HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    async def get(self, path: str) -> "RawClient":
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self.body = await self.reader.readexactly(length)
        self.status_code = int(head.split(b" ", 2)[1])
        return self

    def raise_for_status(self) -> None:
        if self.status_code != 200:
            raise httpx.HTTPError(f"HTTP {self.status_code}")

    def json(self) -> dict:
        import json
        return json.loads(self.body)

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def lag_probe(until: float, lags: list[float], period: float = 0.01) -> None:
    """How late this (client) process's event loop wakes up: load-generator saturation shows here."""
    while time.monotonic() < until:
        t = time.perf_counter()
        await asyncio.sleep(period)
        lags.append(time.perf_counter() - t - period)


async def one_window(clients: list[httpx.AsyncClient], pid: int, seconds: float, interval: float) -> dict:
    lat: list[float] = []
    busy: list[bool] = []
    errors: list[str] = []
    lags: list[float] = []
    until = time.monotonic() + seconds
    cpu_w0, cpu_c0, t0 = process_cpu_seconds(pid), time.process_time(), time.perf_counter()
    await asyncio.gather(lag_probe(until, lags),
                         *(poller(http, interval, until, lat, busy, errors) for http in clients))
    wall = time.perf_counter() - t0
    if errors:
        from collections import Counter
        print("errors:", Counter(errors).most_common(3))
    lat = lat or [float("nan")]
    return {
        "interval": interval, "n": len(lat), "rate": len(lat) / wall, "errors": len(errors),
        "p50": pct(lat, 50) * 1e3, "p95": pct(lat, 95) * 1e3, "p99": pct(lat, 99) * 1e3, "max": max(lat) * 1e3,
        "mean": statistics.fmean(lat) * 1e3 if lat else float("nan"),
        "busy": sum(busy) / len(busy) if busy else 0.0,
        "worker_cpu": (process_cpu_seconds(pid) - cpu_w0) / wall, "client_cpu": (time.process_time() - cpu_c0) / wall,
        "lag_p99": pct(lags, 99) * 1e3,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--intervals", default="1,0.5,0",
                        help="seconds between one client's polls, comma separated; 0 = closed loop")
    parser.add_argument("--threads", type=int, default=1, help="Piper threads in the worker")
    parser.add_argument("--sentences", type=int, default=400, help="sentences in the long unit")
    parser.add_argument("--client", choices=("httpx", "raw"), default="httpx",
                        help="httpx.AsyncClient per poller, or a bare asyncio connection (cheaper load generator)")
    parser.add_argument("--baseline", action="store_true",
                        help="first run every interval with the worker idle (what the machine itself allows)")
    args = parser.parse_args()

    with start_worker("--threads", str(args.threads)) as worker:
        base = worker.base_url
        print(f"worker pid {worker.proc.pid} on {base}, Piper --threads {args.threads}, synth rows run while it "
              f"synthesises a {args.sentences}-sentence unit; {args.clients} {args.client} clients x {args.seconds:.0f} s per row; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
        print(f"{'load':>12} {'polls':>6} {'req/s':>6} {'err':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
              f"{'busy':>5} {'wCPU':>5} {'cCPU':>5} {'lag99':>6}  goal p99<{GOAL_P99_MS:.0f}ms")
        # clients are built (an SSL context each: tens of ms) and connected before any window is timed
        context = ssl.create_default_context()
        if args.client == "raw":
            clients = [RawClient(base) for _ in range(args.clients)]
        else:
            clients = [httpx.AsyncClient(base_url=base, trust_env=False, timeout=10.0, verify=context)
                       for _ in range(args.clients)]
        await asyncio.gather(*(http.get("/status") for http in clients))
        rows = []
        intervals = [float(x) for x in args.intervals.split(",")]
        plan = ([("idle", i) for i in intervals] if args.baseline else []) + [("synth", i) for i in intervals]
        busy_task = None
        for phase, interval in plan:
            if phase == "synth" and busy_task is None:
                stop = asyncio.Event()
                busy_task = asyncio.ensure_future(keep_busy(base, args.sentences, stop))
                async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as http:
                    deadline = time.monotonic() + 30
                    while (await http.get("/status")).json()["status"] != "busy":
                        if time.monotonic() > deadline:
                            raise SystemExit("the worker never became busy")
                        await asyncio.sleep(0.05)
            row = await one_window(clients, worker.proc.pid, args.seconds, interval)
            row["phase"] = phase
            rows.append(row)
            verdict = "PASS" if row["p99"] < GOAL_P99_MS and not row["errors"] else "FAIL"
            label = phase + " " + ("closed" if interval == 0 else f"{interval:g}s")
            print(f"{label:>12} {row['n']:>6} {row['rate']:>6.0f} {row['errors']:>4} {row['p50']:>6.1f}m "
                  f"{row['p95']:>6.1f}m {row['p99']:>6.1f}m {row['max']:>6.1f}m {100 * row['busy']:>4.0f}% "
                  f"{row['worker_cpu']:>5.2f} {row['client_cpu']:>5.2f} {row['lag_p99']:>5.1f}m  {verdict}",
                  flush=True)
        await asyncio.gather(*(http.aclose() for http in clients))
        units = 0
        if busy_task is not None:
            stop.set()
            units = await busy_task
        print(f"long units finished during the run: {units}; columns: latency in ms, busy = share of answers "
              "saying busy, wCPU/cCPU = worker/client CPU in cores, lag99 = client event-loop lag p99")
    synth = [r for r in rows if r["phase"] == "synth"]
    return 0 if all(r["p99"] < GOAL_P99_MS and not r["errors"] for r in synth) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
