"""Where workers come from: one small interface, several sources.

A source yields :class:`WorkerEndpoint` objects the core can reach over HTTP on
this machine (loopback, or a local end of an SSH forward). The core never
cares how a worker was started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, runtime_checkable

__all__ = ["WorkerEndpoint", "ClusterSource", "ClusterError"]


class ClusterError(Exception):
    """Workers cannot be provided. ``str(err)`` is a one-line message for the user."""


@dataclass(frozen=True)
class WorkerEndpoint:
    name: str
    base_url: str
    token: Optional[str] = None
    host: str = "localhost"

    def __repr__(self) -> str:  # never print the token
        return f"WorkerEndpoint(name={self.name!r}, base_url={self.base_url!r}, host={self.host!r})"


@runtime_checkable
class ClusterSource(Protocol):
    """Starts (or finds) workers and tears down what it started."""

    async def start(self) -> list[WorkerEndpoint]:
        """Return reachable endpoints; raise :class:`ClusterError` if none can be had."""

    async def stop(self) -> None:
        """Release what :meth:`start` set up (processes it started, forwards it opened)."""
