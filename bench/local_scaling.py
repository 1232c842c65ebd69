"""Local scaling: the same book on 1 and on 2 local workers (1 thread each), measured in one run.

Prints the speed-up (goal >= 1.8x on a 2-core machine) and the assembly tail after
the last unit as a share of the total wall time (goal <= 2 %).

    python bench/local_scaling.py [--book PATH] [--chapters SPEC] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tui.core.events import EventBus, RunStarted  # noqa: E402
from tui.core.local import LocalCluster  # noqa: E402
from tui.core.options import RunOptions  # noqa: E402
from tui.core.session import run_book  # noqa: E402
from tui.sample import write_sample_epub  # noqa: E402

DEFAULT_BOOK = REPO.parent / "shared" / "books" / "wasteland.epub"


async def measure(book: Path, workers: int, chapters: str | None, unit_chars: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="e2a-bench-") as tmp:
        bus = EventBus()
        started: list[float] = []
        bus.subscribe(lambda e: started.append(time.monotonic()) if isinstance(e, RunStarted) else None)
        t0 = time.monotonic()
        result = await run_book(
            RunOptions(input=book, output=Path(tmp) / "out.m4b", chapters=chapters, unit_chars=unit_chars),
            LocalCluster(workers, threads=1, workdir=Path(tmp) / "workers"), bus=bus,
        )
        t1 = time.monotonic()
    if not result.ok:
        raise SystemExit(f"run with {workers} worker(s) failed: {result.error}")
    convert = t1 - started[0]
    return {"workers": workers, "total": t1 - t0, "convert": convert, "audio": result.audio_seconds,
            "tail": result.tail_seconds, "units": result.units_total}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=DEFAULT_BOOK if DEFAULT_BOOK.exists() else None)
    parser.add_argument("--chapters", default=None)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--unit-chars", type=int, default=None)
    args = parser.parse_args()
    book = args.book
    if book is None:
        book = write_sample_epub(Path(tempfile.mkdtemp(prefix="e2a-sample-")) / "sample.epub")
    print(f"book: {book.name}")
    rows = []
    for n in [int(x) for x in args.workers.split(",")]:
        row = await measure(book, n, args.chapters, args.unit_chars)
        rows.append(row)
        print(f"{n} worker(s): {row['units']} units, {row['audio']:.0f} s audio, wall {row['total']:.1f} s "
              f"(conversion {row['convert']:.1f} s after workers were up), {row['audio'] / row['convert']:.1f}x "
              f"real time, tail {row['tail']:.2f} s = {100 * row['tail'] / row['total']:.2f} % of wall")
    base = rows[0]
    for row in rows[1:]:
        print(f"speed-up {row['workers']} vs {base['workers']}: {base['convert'] / row['convert']:.2f}x "
              f"(conversion), {base['total'] / row['total']:.2f}x (including worker start-up)")


if __name__ == "__main__":
    asyncio.run(main())
