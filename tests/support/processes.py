"""Processes on this machine, read from /proc: which children a process has."""

from __future__ import annotations

from pathlib import Path

__all__ = ["child_pids", "alive_with"]


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` now."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def alive_with(pids: list[int], marker: str) -> list[int]:
    """Those of ``pids`` still running with ``marker`` in their command line."""
    alive = []
    for pid in pids:
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                alive.append(pid)
        except OSError:
            continue
    return alive
