"""A static worker list: ``--workers host:port,...`` or the seed's ``WORKER_NODES``."""

from __future__ import annotations

from typing import Optional

from .cluster import ClusterError, WorkerEndpoint

__all__ = ["StaticCluster", "parse_worker_list"]


def parse_worker_list(spec: str) -> list[tuple[str, int]]:
    """``"a:8001,b:8002"`` → ``[("a", 8001), ("b", 8002)]``; one-line ClusterError on a bad entry."""
    out: list[tuple[str, int]] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        if "://" in item:
            item = item.split("://", 1)[1].rstrip("/")
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not (0 < int(port) < 65536):
            raise ClusterError(f"bad worker address {raw.strip()!r}: expected host:port")
        out.append((host.strip("[]"), int(port)))
    if not out:
        raise ClusterError("the worker list is empty")
    return out


class StaticCluster:
    """Workers someone else started; nothing to start or stop."""

    def __init__(self, spec: str, *, token: Optional[str] = None) -> None:
        self.addresses = parse_worker_list(spec)
        self.token = token

    async def start(self) -> list[WorkerEndpoint]:
        return [
            WorkerEndpoint(f"{host}:{port}", f"http://{host if ':' not in host else f'[{host}]'}:{port}",
                           token=self.token, host=host)
            for host, port in self.addresses
        ]

    async def stop(self) -> None:
        return None
