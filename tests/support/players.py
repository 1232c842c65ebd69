"""Stand-in audio players for tests: shell scripts that record their arguments instead of making sound."""

from __future__ import annotations

from pathlib import Path

__all__ = ["recording_player", "recorded_calls"]


def recording_player(bin_dir: Path, name: str, log: Path) -> Path:
    """``bin_dir/name``: appends its arguments to ``log``, one a line, then ``--``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{log}'; done\n"
                      f"printf -- '--\\n' >> '{log}'\n")
    script.chmod(0o755)
    return script


def recorded_calls(log: Path) -> list[list[str]]:
    """Each call's arguments, in the order the calls were made."""
    if not log.exists():
        return []
    calls: list[list[str]] = []
    current: list[str] = []
    for line in log.read_text().splitlines():
        if line == "--":
            calls.append(current)
            current = []
        else:
            current.append(line)
    return calls
