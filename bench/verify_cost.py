"""What --verify costs: the same chapters with and without verification on the same workers, in one run.

Two local Piper workers (one thread each) are started once and serve every pass,
so only verification differs. Passes alternate (off, on, off, on, ...) to even out
a machine that drifts, each into a fresh output (nothing reused), after one uncounted
verified pass that loads every worker's recogniser. Prints the wall
time of each pass, the ratio on/off (goal <= 1.35 on Piper/CPU), the recogniser's
seconds per audio second and the retakes, read from the workers' /status.
``--compare-hearing`` adds a second set of workers that hear each unit whole with
word timestamps (``e2a-worker --verify-hearing timestamps``) and a verified pass on
them in every round, against the default hearing in windows.

    python bench/verify_cost.py [--book PATH] [--chapters SPEC] [--workers 2] [--rounds 2] [--compare-hearing]

Run it on a quiet machine: nothing else may run beside a bench.
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

import httpx  # noqa: E402

from tui.core.local import spawn_local_worker  # noqa: E402
from tui.core.options import RunOptions  # noqa: E402
from tui.core.session import run_book  # noqa: E402
from tui.core.cluster import WorkerEndpoint, WorkerSource  # noqa: E402

DEFAULT_BOOK = REPO.parent / "shared" / "books" / "wasteland.epub"


async def _status(workers) -> list[dict]:
    out = []
    for w in workers:
        async with httpx.AsyncClient(trust_env=False, headers={"Authorization": f"Bearer {w.token}"}) as http:
            out.append((await http.get(f"http://127.0.0.1:{w.port}/status")).json())
    return out


async def one_pass(book: Path, chapters: str | None, workers, verify: bool, tmp: Path, n: int) -> dict:
    before = await _status(workers)
    started = time.monotonic()
    result = await run_book(
        RunOptions(input=book, output=tmp / f"pass{n}.m4b", chapters=chapters, verify=verify),
        _Running(workers))
    wall = time.monotonic() - started
    if not result.ok:
        raise SystemExit(f"pass {n} failed: {result.error}")
    after = await _status(workers)
    delta = {k: sum(a[k] - b[k] for a, b in zip(after, before))
             for k in ("verify_seconds", "verify_audio_seconds", "retakes", "synthesis_seconds")}
    return {"verify": verify, "wall": wall, "audio": result.audio_seconds, "flagged": result.sentences_flagged,
            "passed": result.sentences_passed, **delta}


class _Running(WorkerSource):
    """The bench's own workers, each with its token: every pass uses them, none stops them."""

    def __init__(self, workers) -> None:
        self.workers = workers

    async def start(self) -> list[WorkerEndpoint]:
        return [WorkerEndpoint(w.name, f"http://127.0.0.1:{w.port}", token=w.token) for w in self.workers]

    async def stop(self) -> None:
        return None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=DEFAULT_BOOK)
    parser.add_argument("--chapters", default="1-2", help="chapters to convert (default 1-2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs (default 2)")
    parser.add_argument("--compare-hearing", action="store_true",
                        help="also a verified pass per round on workers hearing with word timestamps")
    args = parser.parse_args()
    hearings = ["windows", "timestamps"] if args.compare_hearing else ["windows"]
    with tempfile.TemporaryDirectory(prefix="e2a-verify-cost-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "workers").mkdir()
        sets = {}
        for hearing in hearings:
            sets[hearing] = await asyncio.gather(*(
                spawn_local_worker(f"bench-{hearing}-{i + 1}", threads=1, workdir=tmp / "workers",
                                   extra_args=("--verify-hearing", hearing)) for i in range(args.workers)))
        try:
            # warm-up, not counted: every worker loads its recogniser and the caches fill
            for n, workers in enumerate(sets.values()):
                await one_pass(args.book, args.chapters, workers, verify=True, tmp=tmp, n=-1 - n)
            rows = []
            order = [("off", False)] + [(h, True) for h in hearings]
            for n in range(len(order) * args.rounds):
                label, verify = order[n % len(order)]
                row = await one_pass(args.book, args.chapters, sets["windows" if label == "off" else label],
                                     verify=verify, tmp=tmp, n=n)
                row["label"] = label
                rows.append(row)
                print(f"pass {n + 1}: verify {label:10} wall {row['wall']:.1f} s, "
                      f"{row['audio']:.0f} s audio, worker busy {row['synthesis_seconds']:.1f} s, "
                      f"recogniser {row['verify_seconds']:.1f} s, retakes {row['retakes']}, "
                      f"flagged {row['flagged']} of {row['passed'] + row['flagged']}", flush=True)
        finally:
            await asyncio.gather(*(w.stop() for workers in sets.values() for w in workers))
    off = statistics.mean(r["wall"] for r in rows if r["label"] == "off")
    print(f"book {args.book.name}, chapters {args.chapters}, {args.workers} workers x 1 thread")
    for hearing in hearings:
        mine = [r for r in rows if r["label"] == hearing]
        on = statistics.mean(r["wall"] for r in mine)
        heard = sum(r["verify_audio_seconds"] for r in mine)
        asr = sum(r["verify_seconds"] for r in mine)
        print(f"hearing {hearing}: wall with/without --verify {on / off:.3f} (goal <= 1.35); "
              f"mean {on:.1f} s vs {off:.1f} s")
        print(f"  recogniser: {asr / heard:.4f} s per audio second ({heard / asr:.1f}x real time per thread)"
              if heard else "  recogniser: nothing heard")


if __name__ == "__main__":
    asyncio.run(main())
