"""64 workers against one orchestrator: its CPU stays under one core and its memory bounded.

Runs ``--workers`` tone-engine worker apps (tests/support/tone_workers.py, a few per process, each
making audio at ``--speed`` x real time so a unit takes seconds) as a static cluster, and
drives a real RunSession over a generated book in this process. Prints this process's CPU
per phase (getrusage RUSAGE_SELF; workers and ffmpeg are other processes) and its RSS, with
pass/fail: CPU over the run < 1 core, peak RSS (VmHWM) < ``--rss-goal`` MB.

``--shared-ssl`` is a what-if: the orchestrator's worker clients share one SSL context
(WorkerClient otherwise loads the CA bundle once per worker, also for plain-HTTP workers).

    python bench/cluster_load.py [--workers 64] [--procs 4] [--words 100000] [--speed 1.0] [--fmt m4b]
                                 [--shared-ssl] [--profile FILE] [--keep DIR]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.orchestrator_load import load_parser, measured_run, print_report  # noqa: E402


async def main() -> int:
    parser = load_parser(__doc__.splitlines()[0], workers=64, procs=4, speed=1.0, rss_help="peak RSS bound, MB")
    parser.add_argument("--shared-ssl", action="store_true",
                        help="what-if: the orchestrator's worker clients share one SSL context")
    args = parser.parse_args()
    r = await measured_run(workers=args.workers, procs=args.procs, words=args.words, speed=args.speed,
                           rate=args.rate, fmt=args.fmt, telemetry=args.telemetry, chapters=args.chapters,
                           keep=args.keep, profile=args.profile,
                           shared_ssl=args.shared_ssl)
    print_report(r)
    checks = [
        ("orchestrator CPU over the whole run < 1 core", r["cpu"] / r["wall"] < 1.0,
         f"{r['cpu'] / r['wall']:.2f} cores"),
        ("orchestrator CPU during synthesis < 1 core", r["synth_cpu"] / max(r["synth_wall"], 1e-9) < 1.0,
         f"{r['synth_cpu'] / max(r['synth_wall'], 1e-9):.2f} cores"),
        (f"peak RSS < {args.rss_goal:.0f} MB", r["peak"] / 2**20 < args.rss_goal, f"{r['peak'] / 2**20:.0f} MB"),
        ("run complete", r["result"].outcome == "complete", r["result"].outcome),
    ]
    for name, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {value}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
