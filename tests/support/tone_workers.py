"""Many tone-engine worker apps in one process, for the load and soak benches.

Each app is a real ``remote_worker.app.create_app(ToneEngine(...))`` behind its own uvicorn
server on its own loopback port; all the servers share one event loop, so 64 workers cost a
few processes rather than 64. Prints ``E2A_TONE_PORTS=p1,p2,...`` once every server is up and
serves until stdin closes or SIGTERM/SIGINT arrives.

    python tests/support/tone_workers.py --count 16 [--speed 1.0] [--rate 8000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script by the load tests and benches

from tests.support.tone_engine import ToneEngine  # noqa: E402

from remote_worker.app import create_app  # noqa: E402


class _QuietServer(uvicorn.Server):
    """Leaves signals to this script: every server would otherwise install (and restore) its own."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def serve(count: int, speed: float | None, rate: int, host: str) -> None:
    servers, sockets = [], []
    for _ in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sockets.append(sock)
        app = create_app(ToneEngine(sample_rate=rate, speed=speed))
        servers.append(_QuietServer(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)))
    loop = asyncio.get_running_loop()

    def stop_all() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_all)
    loop.add_reader(sys.stdin.fileno(), lambda: stop_all() if not sys.stdin.buffer.read1(4096) else None)
    tasks = [asyncio.ensure_future(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets)]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            for t in tasks:
                if t.done() and t.exception():
                    raise t.exception()
            raise SystemExit("a server stopped while starting")
        await asyncio.sleep(0.05)
    print("E2A_TONE_PORTS=" + ",".join(str(s.getsockname()[1]) for s in sockets), flush=True)
    await asyncio.gather(*tasks)
    for sock in sockets:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--speed", type=float, default=None, help="audio seconds per wall second per worker")
    parser.add_argument("--rate", type=int, default=8000, help="sample rate of the tones")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.count, args.speed, args.rate, args.host))


if __name__ == "__main__":
    main()
