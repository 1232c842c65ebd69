"""Local side of :mod:`tui.ssh.remote_agent`: send the script and one call, parse its JSON answer.

The script travels on stdin to the host's own python, so nothing has to be
installed there before the first bootstrap, and every call runs the agent
that matches this orchestrator's version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import asyncssh

from .connection import RemoteCommandError, run_command

__all__ = ["RemoteAgent", "AGENT_SOURCE"]

AGENT_SOURCE = (Path(__file__).with_name("remote_agent.py")).read_text(encoding="utf-8")


class RemoteAgent:
    """Calls into the remote agent over one connection."""

    def __init__(self, conn: asyncssh.SSHClientConnection, host: str, python: str, workdir: str) -> None:
        self.conn = conn
        self.host = host
        self.python = python
        self.workdir = workdir

    async def call(self, command: str, step: str, timeout: Optional[float] = 120.0, **args: Any) -> dict:
        args.setdefault("workdir", self.workdir)
        # arguments ride on stdin behind the script, never on the command line: other users of the
        # host can read command lines, and a worker's env may hold secrets
        call = f"\nsys.exit(main(['-', {command!r}, {json.dumps(args)!r}]))\n"
        result = await run_command(
            self.conn, self.host, step, [self.python, "-"], input=AGENT_SOURCE + call, timeout=timeout,
            check=False,
        )
        lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
        if result.exit_status == 127 or (not lines and "not found" in result.stderr):
            raise RemoteCommandError(self.host, step, f"python {self.python!r} not found on the host",
                                     result.stderr.splitlines()[-5:])
        try:
            payload = json.loads(lines[-1]) if lines else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            tail = [ln for ln in (result.stdout + "\n" + result.stderr).splitlines() if ln.strip()][-10:]
            raise RemoteCommandError(self.host, step, f"agent gave no answer (exit status {result.exit_status})",
                                     tail)
        if "error" in payload:
            raise RemoteCommandError(self.host, step, str(payload["error"]))
        return payload
