"""Soak: a 100 k-word book through 8 fast workers leaves the orchestrator under 300 MB, with no leaks.

Runs ``--workers`` tone-engine worker apps (tests/support/tone_workers.py, in other processes) as a
static cluster and drives a real RunSession over a generated book in this process. Pass/fail:
RSS at the end < ``--rss-goal`` MB (peak VmHWM printed too), the same open file descriptors
after the run as before it (/proc/self/fd), and no child processes of this one left alive.

    python bench/soak.py [--workers 8] [--words 100000] [--speed 50] [--fmt m4b]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.orchestrator_load import leaked_fds, load_parser, measured_run, print_report  # noqa: E402


async def main() -> int:
    parser = load_parser(__doc__.splitlines()[0], workers=8, procs=2, speed=50.0, rss_help="RSS bound at the end, MB")
    args = parser.parse_args()
    r = await measured_run(workers=args.workers, procs=args.procs, words=args.words, speed=args.speed,
                           rate=args.rate, fmt=args.fmt, telemetry=args.telemetry, chapters=args.chapters,
                           keep=args.keep, profile=args.profile)
    print_report(r)
    leaked = leaked_fds(r)
    gone = {fd: t for fd, t in r["fds_before"].items() if fd not in r["fds_after"]}
    checks = [
        (f"RSS at the end < {args.rss_goal:.0f} MB", r["rss_end"] / 2**20 < args.rss_goal,
         f"{r['rss_end'] / 2**20:.0f} MB (peak {r['peak'] / 2**20:.0f} MB)"),
        ("no leaked file descriptors", not leaked,
         f"{len(r['fds_before'])} before, {len(r['fds_after'])} after, {len(leaked)} new"
         + (f", {len(gone)} closed" if gone else "")),
        ("no child processes left", not r["children_after"], f"{len(r['children_after'])} left"),
        ("run complete", r["result"].outcome == "complete", r["result"].outcome),
    ]
    for name, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {value}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
