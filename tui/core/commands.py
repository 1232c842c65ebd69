"""Typed commands a front end sends to a run session (keys, the progress server, tests).

Commands are plain frozen dataclasses, like events. A command may arrive at any
moment — before the workers are up, during bootstrap, while the book is being
written — and the session applies it as soon as it can; a command naming a
chapter, unit, worker or host that does not exist produces a ``Notice``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

__all__ = [
    "Pause",
    "Resume",
    "RetryChapter",
    "RequeueChapter",
    "RequeueUnit",
    "RetryUnit",
    "Drain",
    "Undrain",
    "Rebootstrap",
    "Stop",
    "Abort",
    "Command",
]


@dataclass(frozen=True)
class Pause:
    """Hand out no new work; what is in flight finishes."""


@dataclass(frozen=True)
class Resume:
    """Hand out work again."""


@dataclass(frozen=True)
class RetryChapter:
    """Send the chapter's failed and quarantined units again, with fresh failure counters."""

    chapter_index: int


@dataclass(frozen=True)
class RequeueUnit:
    """Send one unit again, first in line; ``redo`` (the default) also when it is finished: new takes
    of every sentence, as for a flagged sentence the listener wants spoken again."""

    unit_id: str
    redo: bool = True


@dataclass(frozen=True)
class RequeueChapter:
    """Cancel the chapter's in-flight work and send it again, first in line; ``redo`` also redoes
    units that are already finished."""

    chapter_index: int
    redo: bool = False


@dataclass(frozen=True)
class RetryUnit:
    """Send one failed or quarantined unit again now."""

    unit_id: str


@dataclass(frozen=True)
class Drain:
    """The worker finishes what it holds and gets nothing new."""

    worker: str


@dataclass(frozen=True)
class Undrain:
    worker: str


@dataclass(frozen=True)
class Rebootstrap:
    """Bring the host's workers back (bootstrap again, restart what is not running)."""

    host: str


@dataclass(frozen=True)
class Stop:
    """Finish what is in flight, write the partial book, exit 1."""


@dataclass(frozen=True)
class Abort:
    """Cancel everything now and write nothing; finished units stay in the journal."""


Command = Union[Pause, Resume, RetryChapter, RequeueChapter, RequeueUnit, RetryUnit, Drain, Undrain, Rebootstrap, Stop, Abort]
