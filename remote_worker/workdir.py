"""The worker's private temporary folder, and the sweeping up after workers that were killed.

A clean shutdown removes the folder. A worker killed with SIGKILL cannot, so
each live worker holds an ``flock`` on its folder; a new worker removes sibling
folders whose lock nobody holds any more. The kernel drops the lock when the
owner dies, so this needs no PIDs and works across network namespaces that
share one ``/tmp``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

try:
    import fcntl
except ImportError:  # not POSIX: no sweeping, the folder is still removed at shutdown
    fcntl = None  # type: ignore[assignment]

__all__ = ["TEMP_PREFIX", "WorkDir", "sweep_stale"]

#: Prefix of every worker's temporary folder.
TEMP_PREFIX = "e2a-worker-"

#: Younger folders are left alone: their owner may not have taken its lock yet.
_MIN_AGE_SECONDS = 60.0

_LOG = logging.getLogger(__name__)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class WorkDir:
    """A fresh ``mkdtemp`` folder, locked for as long as this worker lives."""

    def __init__(self, parent: Optional[str] = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent))
        self._fd: Optional[int] = None
        if fcntl is not None:
            self._fd = os.open(self.path, os.O_RDONLY)
            _try_lock(self._fd)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def sweep_stale(parent: Optional[str] = None, min_age: float = _MIN_AGE_SECONDS) -> int:
    """Remove worker folders in ``parent`` left by dead workers of this user; returns how many."""
    if fcntl is None:
        return 0
    base = Path(parent or tempfile.gettempdir())
    now, uid, removed = time.time(), os.getuid(), 0
    for folder in base.glob(f"{TEMP_PREFIX}*"):
        try:
            info = folder.lstat()
            if not folder.is_dir() or folder.is_symlink() or info.st_uid != uid or now - info.st_mtime < min_age:
                continue
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _try_lock(fd):  # nobody alive holds it
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        finally:
            os.close(fd)
    if removed:
        _LOG.info("removed %d temporary folder(s) left by workers that were killed", removed)
    return removed
