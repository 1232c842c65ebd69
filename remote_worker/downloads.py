"""Audio files handed out by ``audio_url``: random names, a private folder, a time limit.

``/download/{name}`` only serves names this store issued; the name is looked up,
never joined onto a path, so no client input ever reaches the filesystem.
Files stay until their TTL so a client that lost a transfer can fetch again.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

__all__ = ["DEFAULT_TTL_SECONDS", "Download", "DownloadStore"]

DEFAULT_TTL_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class Download:
    name: str
    path: Path
    audio_format: str
    size: int
    expires_at: float


class DownloadStore:
    """Thread-safe: files are written from worker threads, looked up on the event loop."""

    def __init__(
        self,
        directory: Path,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = Path(directory)
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, Download] = {}

    def put(self, data: bytes, audio_format: str) -> Download:
        """Write ``data`` under a fresh unguessable name and remember it until it expires."""
        name = f"{secrets.token_urlsafe(18)}.{audio_format}"
        path = self.directory / name
        with open(path, "xb") as handle:
            handle.write(data)
        item = Download(name, path, audio_format, len(data), self._clock() + self.ttl_seconds)
        with self._lock:
            self._items[name] = item
        return item

    def get(self, name: str) -> Optional[Download]:
        """The issued, unexpired download called ``name``, or None."""
        with self._lock:
            item = self._items.get(name)
        if item is None:
            return None
        if item.expires_at <= self._clock():
            self.expire()
            return None
        return item

    def expire(self) -> int:
        """Delete files past their TTL; returns how many went."""
        now = self._clock()
        with self._lock:
            gone = [item for item in self._items.values() if item.expires_at <= now]
            for item in gone:
                del self._items[item.name]
        for item in gone:
            item.path.unlink(missing_ok=True)
        return len(gone)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
