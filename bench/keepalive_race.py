"""A pooled connection reused just as the worker closes it: how often a request to a worker fails.

httpx keeps an idle connection for ``keepalive_expiry`` (5 s by default) and uvicorn closes an
idle one after ``timeout_keep_alive`` (5 s by default), so a request sent on a connection idle
for about 5 s can meet the server's close and fail with RemoteProtocolError/ReadError; the
orchestrator's WorkerClient counts those as "worker unreachable". ``--clients`` httpx clients
against one tone worker each wait a random ``--gap`` between requests; prints failures per
client ``keepalive_expiry`` (goal: none).

    python bench/keepalive_race.py [--clients 150] [--rounds 3] [--gap 4.9,5.1] [--expiry 5,3]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import ssl
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.orchestrator_load import ToneWorkers  # noqa: E402


async def trial(base: str, clients: int, rounds: int, lo: float, hi: float, expiry: float) -> tuple[int, dict]:
    context = ssl.create_default_context()
    errors: collections.Counter = collections.Counter()
    ok = 0

    async def one() -> None:
        nonlocal ok
        async with httpx.AsyncClient(base_url=base, trust_env=False, verify=context,
                                     limits=httpx.Limits(keepalive_expiry=expiry)) as http:
            await http.get("/status")
            for _ in range(rounds):
                await asyncio.sleep(random.uniform(lo, hi))
                try:
                    (await http.get("/status")).raise_for_status()
                    ok += 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1

    await asyncio.gather(*(one() for _ in range(clients)))
    return ok, dict(errors)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gap", default="4.9,5.1", help="idle seconds between requests: low,high")
    parser.add_argument("--expiry", default="5,3", help="client keepalive_expiry values to try, seconds")
    args = parser.parse_args()
    lo, hi = (float(x) for x in args.gap.split(","))
    pool = ToneWorkers(1, 1, None, 8000)
    failed_default = 0
    try:
        base = f"http://127.0.0.1:{pool.ports[0]}"
        print(f"one tone worker (uvicorn defaults), {args.clients} clients x {args.rounds} requests, "
              f"idle {lo}-{hi} s before each")
        for expiry in (float(x) for x in args.expiry.split(",")):
            ok, errors = await trial(base, args.clients, args.rounds, lo, hi, expiry)
            failed = sum(errors.values())
            failed_default += failed if expiry >= 5 else 0
            print(f"keepalive_expiry {expiry:>4g} s: {ok} ok, {failed} failed {errors or ''}  "
                  f"{'PASS' if not failed else 'FAIL'}", flush=True)
    finally:
        pool.stop()
    return 1 if failed_default else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
