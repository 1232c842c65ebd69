"""The worker as a Ray actor: the engine loaded once, the same HTTP protocol answered in-process.

The orchestrator wraps :class:`WorkerActor` with ``ray.remote`` and hands it whole HTTP requests
(method, path, query, headers, body). The actor passes each to the worker's own FastAPI app over
ASGI and returns status, headers and body, so every route, limit, error and token check is the one
an HTTP worker has. No port is opened on the node: the bytes travel on Ray's own channels.

Ray is imported only inside :meth:`WorkerActor.describe` (this module is importable without it),
and nothing here imports ``tui``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any, AsyncContextManager, Optional
from urllib.parse import unquote

from . import __version__

__all__ = ["WorkerActor", "ActorReply", "call_app", "SETTING_KEYS"]

#: (status, headers, body) as the orchestrator's transport rebuilds an HTTP response from it
ActorReply = tuple[int, list[tuple[bytes, bytes]], bytes]

#: the worker options an actor takes, with their defaults (the orchestrator sends a plain dict)
SETTING_KEYS: dict[str, Any] = {
    "engine": "piper", "voice": None, "threads": 1, "model_dir": None, "model": None,
    "agree_license": False, "replicas": 1, "device": "auto", "verify": True, "verify_model": None,
    "queue": 1,
}

#: seconds a cancelled request may take to stop its unit before the actor gives up waiting
_CANCEL_GRACE_S = 10.0


async def call_app(app: Any, method: str, raw_path: str, query: bytes, headers: list[tuple[bytes, bytes]],
                   body: bytes) -> ActorReply:
    """One request through an ASGI app, the whole response collected.

    Cancelling the caller tells the app its client went away (``http.disconnect``), as a dropped
    TCP connection would: a unit in flight stops between two sentences, then the cancel goes on.
    """
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": unquote(raw_path), "raw_path": raw_path.encode("utf-8"),
        "query_string": query, "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 0), "server": ("ray-actor", 80),
    }
    gone = asyncio.Event()
    delivered = False
    status = 500
    out_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            out_headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    task = asyncio.ensure_future(app(scope, receive, send))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        gone.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, _CANCEL_GRACE_S)
        raise
    finally:
        gone.set()
    return status, out_headers, b"".join(chunks)


class WorkerActor:
    """One worker: engines loaded in ``__init__`` (a failed load fails the actor's creation).

    ``settings``: keys of :data:`SETTING_KEYS`; ``token``: the bearer token the app asks for.
    Methods are coroutines, so Ray runs the actor on one event loop and a ``/status`` poll is
    answered while a unit is being spoken (the engine runs in its own thread).
    """

    def __init__(self, settings: dict, token: Optional[str]) -> None:
        from .app import create_app
        from .engines import get_engine
        from .verifying import build_verification

        opts = {**SETTING_KEYS, **{k: v for k, v in settings.items() if k in SETTING_KEYS}}
        use_cuda = {"auto": None, "cpu": False, "cuda": True}[opts["device"]]
        if opts["agree_license"]:
            os.environ["COQUI_TOS_AGREED"] = "1"  # only because the user said so in the run's options
        engines = [get_engine(opts["engine"], voice=opts["voice"], threads=opts["threads"], use_cuda=use_cuda,
                              model_dir=opts["model_dir"], model=opts["model"],
                              agree_license=opts["agree_license"])
                   for _ in range(max(1, int(opts["replicas"])))]
        for engine in engines:
            engine.load()
        verification = build_verification(bool(opts["verify"]), opts["verify_model"],
                                          device=opts["device"], threads=opts["threads"])
        self.app = create_app(engines, token=token, max_queued=opts["queue"], verification=verification)
        self._lifespan: Optional[AsyncContextManager[None]] = None
        self._starting: Optional[asyncio.Lock] = None

    async def _started(self) -> None:
        """The app's lifespan (stores, temp folder, reaper), entered once on the actor's own loop."""
        if self._lifespan is not None:
            return
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._lifespan is None:
                lifespan = self.app.router.lifespan_context(self.app)
                await lifespan.__aenter__()
                self._lifespan = lifespan

    async def describe(self) -> dict:
        """Where this actor runs and what it is: node, GPUs, pid, worker version."""
        import ray

        await self._started()
        ctx = ray.get_runtime_context()
        gpus = [str(g) for g in ctx.get_accelerator_ids().get("GPU", [])]
        return {"version": __version__, "node_ip": ray.util.get_node_ip_address(), "node_id": ctx.get_node_id(),
                "gpus": gpus, "pid": os.getpid()}

    async def handle(self, method: str, raw_path: str, query: bytes, headers: list[tuple[bytes, bytes]],
                     body: bytes) -> ActorReply:
        """One HTTP request of the worker protocol, answered by the worker app."""
        await self._started()
        return await call_app(self.app, method, raw_path, query, headers, body)

    async def shutdown(self) -> None:
        """Leave the lifespan (remove the temporary folder) before the actor is killed."""
        if self._lifespan is not None:
            lifespan, self._lifespan = self._lifespan, None
            with contextlib.suppress(Exception):
                await lifespan.__aexit__(None, None, None)
