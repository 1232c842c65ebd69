"""A static worker list: ``--workers host:port,...`` or the seed's ``WORKER_NODES``."""

from __future__ import annotations

import ipaddress
import sys
from typing import Callable, Optional

from .cluster import ClusterError, WorkerEndpoint, WorkerSource

__all__ = ["StaticCluster", "parse_worker_list", "cleartext_token_warning"]


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


def _is_loopback(host: str) -> bool:
    # same rule as the worker's own refusal to listen without a token (remote_worker.security)
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cleartext_token_warning(addresses: list[tuple[str, int]], token: Optional[str]) -> Optional[str]:
    """One line when ``token`` would cross a network in clear text (plain HTTP to a non-loopback host)."""
    if not token:
        return None
    remote = [f"{host}:{port}" for host, port in addresses if not _is_loopback(host)]
    if not remote:
        return None
    shown = ", ".join(remote[:3]) + (f" and {len(remote) - 3} more" if len(remote) > 3 else "")
    return (
        f"warning: the worker token travels in clear text over plain HTTP to {shown}; anyone on that network "
        "can read it and use the workers (use --inventory for SSH-forwarded workers, or a trusted network)"
    )


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class StaticCluster(WorkerSource):
    """Workers someone else started; nothing to start or stop.

    A token sent over plain HTTP to another machine can be read on the way, so building one
    says so once (``warn``, stderr by default) and keeps the line in :attr:`warnings`.
    """

    def __init__(
        self, spec: str, *, token: Optional[str] = None, warn: Optional[Callable[[str], None]] = _to_stderr
    ) -> None:
        self.addresses = parse_worker_list(spec)
        self.token = token
        self.warnings: list[str] = []
        line = cleartext_token_warning(self.addresses, token)
        if line:
            self.warnings.append(line)
            if warn is not None:
                warn(line)

    def __repr__(self) -> str:  # never print the token
        return f"StaticCluster(addresses={self.addresses!r})"

    async def start(self) -> list[WorkerEndpoint]:
        return [
            WorkerEndpoint(f"{host}:{port}", f"http://{host if ':' not in host else f'[{host}]'}:{port}",
                           token=self.token, host=host)
            for host, port in self.addresses
        ]

    async def stop(self) -> None:
        return None
