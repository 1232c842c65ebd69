"""The seam between the dashboard and whatever drives a run.

The app needs only an object with ``.state`` (a :class:`RunState`) and
``.send(command)``; a real :class:`RunSession` also has ``run()``, which the app
awaits in a Textual worker. Tests and the benchmark pass stand-ins.
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol, runtime_checkable

from ..core import commands as cmd
from ..core.state import RunState, WorkerView

__all__ = ["SessionLike", "LogReader"]


@runtime_checkable
class SessionLike(Protocol):
    state: RunState

    def send(self, command: cmd.Command) -> None:
        """Apply a command (the real session is safe to call from the app's loop)."""


#: Reads the tail of a worker's log (blocking; the app calls it in a thread). None: no log known.
LogReader = Callable[[WorkerView], Optional[str]]
