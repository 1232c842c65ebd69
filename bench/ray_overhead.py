"""Ray overhead: the same chapters on 2 local workers and on 2 Ray actors on this machine, in one run.

Prints the conversion wall time of each (from the run's start to the book written, worker start-up
excluded), their ratio (goal: Ray / local <= 1.10), and the per-request overhead of the Ray path:
the mean and median time of a bare ``GET /status`` through an actor (the httpx transport that hands
the request to the actor through Ray, ASGI in the actor) minus the same over loopback HTTP to a
local worker. The Ray side is a private one-node cluster (``--ray local``: token authentication,
stopped at the end). Run it on a quiet machine: any other CPU-bound work skews the ratio.

    python bench/ray_overhead.py [--book PATH] [--chapters SPEC] [--requests N] [--order local,ray]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tui.core.client import WorkerClient  # noqa: E402
from tui.core.cluster import WorkerEndpoint, WorkerSource  # noqa: E402
from tui.core.events import EventBus, RunStarted  # noqa: E402
from tui.core.local import LocalCluster  # noqa: E402
from tui.core.options import RunOptions  # noqa: E402
from tui.core.session import run_book  # noqa: E402
from tui.sample import write_sample_epub  # noqa: E402

DEFAULT_BOOK = REPO.parent / "shared" / "books" / "wasteland.epub"
WORKERS = 2


class _Started(WorkerSource):
    """Workers started before the run and stopped after it, so their start-up is not timed and the
    same workers answer the request-overhead probe afterwards."""

    def __init__(self, endpoints: list[WorkerEndpoint]) -> None:
        self.endpoints = endpoints

    async def start(self) -> list[WorkerEndpoint]:
        return self.endpoints

    async def stop(self) -> None:
        return None


async def _convert(label: str, source: WorkerSource, book: Path, chapters: str | None,
                   unit_chars: int | None, requests: int) -> dict:
    t0 = time.monotonic()
    endpoints = await source.start()
    ready = time.monotonic() - t0
    try:
        with tempfile.TemporaryDirectory(prefix="e2a-bench-") as tmp:
            bus = EventBus()
            started: list[float] = []
            bus.subscribe(lambda e: started.append(time.monotonic()) if isinstance(e, RunStarted) else None)
            result = await run_book(RunOptions(input=book, output=Path(tmp) / "out.m4b", chapters=chapters,
                                               unit_chars=unit_chars), _Started(endpoints), bus=bus)
            ended = time.monotonic()
        if not result.ok:
            raise SystemExit(f"{label}: the run failed: {result.error}")
        latencies = await _request_times(endpoints[0], requests)
    finally:
        await source.stop()
    return {"label": label, "ready": ready, "convert": ended - started[0], "audio": result.audio_seconds,
            "units": result.units_total, "names": [ep.name for ep in endpoints], "latencies": latencies}


async def _request_times(endpoint: WorkerEndpoint, count: int) -> list[float]:
    client = WorkerClient(endpoint)
    try:
        for _ in range(10):  # warm: connection, first-call paths
            await client.status()
        times = []
        for _ in range(count):
            t = time.perf_counter()
            await client.status()
            times.append(time.perf_counter() - t)
        return times
    finally:
        await client.aclose()


def _ray_source(workers: int) -> WorkerSource:
    from tui.ray.cluster import RayCluster
    from tui.ray.settings import RaySettings

    return RayCluster(RaySettings(address="local", workers=workers), local_cpus=workers)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=DEFAULT_BOOK if DEFAULT_BOOK.exists() else None)
    parser.add_argument("--chapters", default="1-2", help="chapters of --book (default 1-2; all of the sample)")
    parser.add_argument("--unit-chars", type=int, default=None)
    parser.add_argument("--requests", type=int, default=300, help="GET /status round trips timed per path")
    parser.add_argument("--order", default="local,ray", help="which goes first (alternate it between runs)")
    args = parser.parse_args()
    book, chapters = args.book, args.chapters
    if book is None:
        book = write_sample_epub(Path(tempfile.mkdtemp(prefix="e2a-sample-")) / "sample.epub")
        chapters = None
    print(f"book: {book.name}" + (f", chapters {chapters}" if chapters else "") + f"; {WORKERS} workers each")
    rows = {}
    for label in args.order.split(","):
        source = LocalCluster(WORKERS, threads=1) if label == "local" else _ray_source(WORKERS)
        rows[label] = await _convert(label, source, book, chapters, args.unit_chars, args.requests)
        r = rows[label]
        print(f"{label:>5}: {r['units']} units, {r['audio']:.0f} s of audio in {r['convert']:.1f} s "
              f"({r['audio'] / r['convert']:.1f}x real time); workers ready after {r['ready']:.1f} s: "
              f"{', '.join(r['names'])}")
    local, ray = rows["local"], rows["ray"]
    ratio = ray["convert"] / local["convert"]
    print(f"wall ratio ray/local: {ratio:.3f} (goal <= 1.10: {'ok' if ratio <= 1.10 else 'MISSED'})")
    for label in ("local", "ray"):
        lat = rows[label]["latencies"]
        print(f"GET /status via {label:>5}: mean {statistics.mean(lat) * 1e3:.2f} ms, "
              f"median {statistics.median(lat) * 1e3:.2f} ms, p95 {sorted(lat)[int(len(lat) * 0.95)] * 1e3:.2f} ms")
    extra_mean = statistics.mean(ray["latencies"]) - statistics.mean(local["latencies"])
    extra_median = statistics.median(ray["latencies"]) - statistics.median(local["latencies"])
    print(f"per-request overhead of the Ray path: {extra_mean * 1e3:+.2f} ms mean, {extra_median * 1e3:+.2f} ms median "
          f"(x {ray['units']} units x ~2 requests each = {extra_mean * ray['units'] * 2:.2f} s of "
          f"{ray['convert']:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
