"""Where a worker's log is read from: a local file, or the host over SSH (as ``e2a-tui logs``).

Both readers block; the dashboard calls them in a Textual thread worker.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, Optional

from ..core.cluster import WorkerSource
from ..core.state import WorkerView

__all__ = ["local_log_reader", "ssh_log_reader", "tail_file"]

TAIL_LINES = 60


def tail_file(path: Path, lines: int = TAIL_LINES, max_bytes: int = 256 * 1024) -> Optional[str]:
    """The last ``lines`` lines of ``path`` (reading at most ``max_bytes`` from its end)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return None
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def local_log_reader(source: WorkerSource) -> Callable[[WorkerView], Optional[str]]:
    """Logs of a source whose workers write to files here (it offers ``Offer.LOG_FILES``)."""

    def read(worker: WorkerView) -> Optional[str]:
        path = source.log_file(worker.name)
        return tail_file(path) if path is not None else None

    return read


def ssh_log_reader(inventory) -> Callable[[WorkerView], Optional[str]]:
    """Logs of an SSH host, fetched the way ``e2a-tui logs -i INV HOST`` does (one SSH round trip)."""

    def read(worker: WorkerView) -> Optional[str]:
        from ..ssh import commands

        if not worker.host:
            return None
        text = asyncio.run(commands.logs(inventory, worker.host, TAIL_LINES))
        # keep the section of this worker when the host has several
        marker = f"==> {worker.name} "
        if marker in text:
            section = text.split(marker, 1)[1]
            return marker + section.split("\n\n==> ", 1)[0]
        return text

    return read
