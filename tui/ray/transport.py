"""HTTP to a Ray actor without a socket: an httpx transport that hands each request to the actor.

The worker client above it is the one every worker gets, so a Ray worker is scheduled, journalled
and shown like any other. Ray's failures become the transport errors a dropped TCP connection
gives: an actor that died (killed, OOM, node lost) or is restarting raises ``ConnectError``,
which the core treats as "worker gone, requeue its unit at once".
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Callable, Optional

import httpx
import ray
import ray.exceptions as rex

from .connect import first_line
from ..core.waiting import within

__all__ = ["ActorSlot", "ActorTransport", "cause_line"]


def cause_line(exc: BaseException) -> str:
    """The root cause of a Ray error in one line (the last ``SomethingError: ...`` of its traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if ":" in line and " " not in head and (head.endswith("Error") or head.endswith("Exception")):
            return line[:300]
    return first_line(exc)


class ActorSlot:
    """One worker's place in the run: its stable name, its current actor (replaced by ``b``), its node.

    ``on_lost`` is told once per outage that the actor stopped answering; ``on_back`` when a
    request goes through again.
    """

    def __init__(self, index: int, name: str, host: str, handle: object) -> None:
        self.index, self.name, self.host, self.handle = index, name, host, handle
        self.pid: Optional[int] = None
        self.gpus: list[str] = []
        self.out = False
        self.on_lost: Callable[["ActorSlot", str], None] = lambda slot, why: None
        self.on_back: Callable[["ActorSlot"], None] = lambda slot: None

    def lost(self, why: str) -> None:
        if not self.out:
            self.out = True
            self.on_lost(self, why)

    def answered(self) -> None:
        if self.out:
            self.out = False
            self.on_back(self)


class ActorTransport(httpx.AsyncBaseTransport):
    """``WorkerEndpoint.transport`` for a Ray worker: the request's method, path, headers and body
    go to ``slot.handle.handle`` and its (status, headers, body) come back as the response."""

    def __init__(self, slot: ActorSlot) -> None:
        self.slot = slot

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        raw_path, _, query = request.url.raw_path.partition(b"?")
        headers = [(k.lower(), v) for k, v in request.headers.raw]
        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            ref = self.slot.handle.handle.remote(  # type: ignore[attr-defined]
                request.method, raw_path.decode("ascii"), query, headers, body)
        except rex.RayError as exc:
            self.slot.lost(cause_line(exc))
            raise httpx.ConnectError(f"Ray actor of {self.slot.name} is gone: {cause_line(exc)}",
                                     request=request) from None
        try:
            status, reply_headers, content = await within(asyncio.wrap_future(ref.future()), timeout)
        except asyncio.TimeoutError:
            self._cancel(ref)
            raise httpx.ReadTimeout(f"Ray actor of {self.slot.name} did not answer within {timeout:g} s",
                                    request=request) from None
        except asyncio.CancelledError:
            self._cancel(ref)
            raise
        except rex.RayActorError as exc:  # died, or restarting (ActorUnavailableError)
            self.slot.lost(cause_line(exc))
            raise httpx.ConnectError(f"Ray actor of {self.slot.name} is gone: {cause_line(exc)}",
                                     request=request) from None
        except rex.RayError as exc:  # object lost, task cancelled, owner gone
            raise httpx.ReadError(f"Ray call to {self.slot.name} failed: {cause_line(exc)}", request=request) from None
        self.slot.answered()
        return httpx.Response(status, headers=reply_headers, content=content, request=request)

    @staticmethod
    def _cancel(ref: object) -> None:
        with contextlib.suppress(Exception):
            ray.cancel(ref)  # type: ignore[arg-type]
