"""Local ends of SSH port forwards, and the health checks made through them.

Workers listen on their host's 127.0.0.1 only; the orchestrator reaches each
one through a local port on its own loopback that asyncssh forwards over the
host's connection. When that connection dies asyncssh closes the listener, so
requests to the port fail at once instead of hanging.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Optional

import asyncssh
import httpx

from ..core.waiting import poll_until

__all__ = ["open_forward", "forwarded", "HealthReport", "check_health", "wait_healthy"]


async def open_forward(conn: asyncssh.SSHClientConnection, remote_port: int,
                       local_port: int = 0) -> tuple[asyncssh.SSHListener, int]:
    """Listen on 127.0.0.1:``local_port`` (0 = any free) and forward to the host's 127.0.0.1:``remote_port``."""
    listener = await conn.forward_local_port("127.0.0.1", local_port, "127.0.0.1", remote_port)
    return listener, listener.get_port()


@contextlib.asynccontextmanager
async def forwarded(conn: asyncssh.SSHClientConnection, remote_port: int) -> AsyncIterator[str]:
    """A temporary forward for one check; yields the local base URL."""
    listener, port = await open_forward(conn, remote_port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listener.close()
        with contextlib.suppress(Exception):
            await listener.wait_closed()


@dataclass(frozen=True)
class HealthReport:
    """What a worker said through its forward; ``problem`` is None when it is ready and the token works."""

    problem: Optional[str]
    health: Optional[dict] = None
    status: Optional[dict] = None
    #: waiting longer will not help (the worker refuses the token we hold)
    final: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None


async def check_health(base_url: str, token: Optional[str], timeout: float = 5.0) -> HealthReport:
    """``GET /health`` (open) then ``GET /status`` (needs the token): ready, and the token we hold is its token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, trust_env=False, timeout=timeout) as http:
        try:
            health = await http.get("/health")
        except httpx.HTTPError as exc:
            return HealthReport(f"no answer ({type(exc).__name__})")
        if health.status_code != 200:
            return HealthReport(f"/health answered {health.status_code}")
        try:
            body = health.json()
        except ValueError:
            return HealthReport("/health answered something that is not JSON")
        if body.get("status") != "healthy" or body.get("model_loaded") is False:
            return HealthReport(f"not ready (status {body.get('status')!r})", body)
        try:
            status = await http.get("/status")
        except httpx.HTTPError as exc:
            return HealthReport(f"/status gave no answer ({type(exc).__name__})", body)
        if status.status_code == 401:
            return HealthReport("the worker does not accept the token on record", body, final=True)
        if status.status_code != 200:
            return HealthReport(f"/status answered {status.status_code}", body)
        try:
            status_body = status.json()
        except ValueError:
            status_body = {}
        return HealthReport(None, body, status_body)


async def wait_healthy(
    base_url: str,
    token: Optional[str],
    *,
    timeout: float,
    still_running: Optional[Callable[[], Awaitable[bool]]] = None,
    poll: float = 0.5,
) -> HealthReport:
    """Poll until healthy, the process is gone (``still_running`` says so), or ``timeout`` passes."""
    last = HealthReport("not checked yet")

    async def check() -> Optional[HealthReport]:
        nonlocal last
        last = await check_health(base_url, token, timeout=min(5.0, timeout))
        return last if last.ok or last.final else None

    async def exited() -> Optional[str]:
        return None if still_running is None or await still_running() else "the worker process exited"

    report, reason = await poll_until(check, timeout=timeout, interval=poll, give_up=exited)
    if report is not None:
        return report
    if reason == "timeout":
        return HealthReport(f"not healthy after {timeout:.0f} s: {last.problem}", last.health)
    return HealthReport(reason, last.health)
