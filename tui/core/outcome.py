"""How a run ended, as types: the outcome, why dispatch ended, and the process exit code.

Defined once here so front ends, the journal and the CLI compare members, never
message strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import RunFinished

__all__ = ["Outcome", "EndKind", "DispatchEnd", "ExitCode", "exit_code_for"]


class Outcome(str, enum.Enum):
    """The result of a run. A ``str`` so it serialises (journal, ``/progress``) as its value."""

    COMPLETE = "complete"  # every unit synthesised and the book written
    PARTIAL = "partial"  # units missing (quarantined, workers gone) or assembly failed
    STOPPED = "stopped"  # the user asked to stop; a partial book was written
    ABORTED = "aborted"  # the user quit; finished units are kept for a rerun

    __hash__ = str.__hash__  # hashes like its value, so ``{"complete": …}[Outcome.COMPLETE]`` works

    def __str__(self) -> str:
        return self.value


class EndKind(enum.Enum):
    """Why the dispatch loop ended."""

    FINISHED = "finished"  # every unit is done or quarantined
    STOPPED = "stopped"  # the user asked to stop, and work in flight has finished
    ABORTED = "aborted"  # the user quit
    FATAL = "fatal"  # our own disk or journal failed, or a voice sample was refused everywhere
    NO_WORKERS = "no_workers"  # no usable or reachable worker is left


@dataclass(frozen=True)
class DispatchEnd:
    kind: EndKind
    message: str = ""

    @property
    def gave_up(self) -> bool:
        """Ended before every unit was done or quarantined."""
        return self.kind is not EndKind.FINISHED


class ExitCode(enum.IntEnum):
    """The process exit codes of ``e2a-tui``."""

    OK = 0  # the whole book was written
    INCOMPLETE = 1  # a partial book (stopped, units quarantined, hosts failed)
    BAD_INPUT = 2  # bad input or no workers: nothing was converted
    INTERRUPTED = 130  # quit or Ctrl-C; a rerun resumes


def exit_code_for(result: "RunFinished") -> ExitCode:
    """0 complete, 1 partial or stopped, 130 aborted (as Ctrl-C)."""
    if result.ok:
        return ExitCode.OK
    if result.outcome is Outcome.ABORTED or result.outcome == Outcome.ABORTED.value:
        return ExitCode.INTERRUPTED
    return ExitCode.INCOMPLETE
