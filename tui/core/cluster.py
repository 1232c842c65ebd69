"""Where workers come from: one interface that every worker source implements.

A source starts (or finds) workers and hands the core :class:`WorkerEndpoint`
objects. Beyond ``start``/``stop`` a source *declares* what else it offers in
:attr:`WorkerSource.offers`; every optional ability has a safe default here, so
the core calls methods instead of probing attributes by name, and a class that
declares an ability without implementing it fails when it is defined, not in
the middle of a run.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Optional

if TYPE_CHECKING:  # kept out of the import: the CLI imports this module at start-up
    import httpx

    from .events import Event

__all__ = ["WorkerEndpoint", "WorkerSource", "Offer", "ClusterError"]


class ClusterError(Exception):
    """Workers cannot be provided. ``str(err)`` is a one-line message for the user."""


@dataclass(frozen=True)
class WorkerEndpoint:
    """How to reach one worker.

    ``base_url`` is an HTTP URL on this machine (loopback, or the local end of an SSH
    forward) unless ``transport`` is given: then requests go through the transport that
    ``transport()`` builds (a worker reached through something other than TCP here),
    and ``base_url`` only names it.
    """

    name: str
    base_url: str
    token: Optional[str] = None
    host: str = "localhost"
    transport: Optional[Callable[[], "httpx.AsyncBaseTransport"]] = field(default=None, compare=False)

    def __repr__(self) -> str:  # never print the token
        return f"WorkerEndpoint(name={self.name!r}, base_url={self.base_url!r}, host={self.host!r})"


class Offer(enum.Enum):
    """An optional ability of a worker source."""

    EVENTS = "events"  # announces its own progress (worker starting, SSH phases) on the run's bus
    HOSTS = "hosts"  # knows host names beyond those of its live endpoints
    REBOOTSTRAP = "rebootstrap"  # can start a host's workers again
    CONNECTIVITY = "connectivity"  # knows whether a host is reachable right now
    LOG_FILES = "log_files"  # workers write logs to files on this machine


#: the method each offer needs a source to implement
_NEEDS: dict[Offer, str] = {
    Offer.EVENTS: "bind_events",
    Offer.HOSTS: "host_names",
    Offer.REBOOTSTRAP: "rebootstrap",
    Offer.CONNECTIVITY: "is_connected",
    Offer.LOG_FILES: "log_file",
}


class WorkerSource(ABC):
    """Starts (or finds) workers and tears down what it started.

    Subclasses implement :meth:`start` and :meth:`stop`, list what else they offer in
    ``offers`` and override the matching methods; the defaults describe a source
    that offers nothing more.
    """

    offers: ClassVar[frozenset[Offer]] = frozenset()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for offer in cls.offers:
            method = _NEEDS[offer]
            if getattr(cls, method) is getattr(WorkerSource, method):
                raise TypeError(f"{cls.__name__} offers {offer.value} but does not implement {method}()")

    @abstractmethod
    async def start(self) -> list[WorkerEndpoint]:
        """Return reachable endpoints; raise :class:`ClusterError` if none can be had."""

    @abstractmethod
    async def stop(self) -> None:
        """Release what :meth:`start` set up (processes it started, forwards it opened)."""

    def bind_events(self, publish: Callable[["Event"], None]) -> None:
        """Where to announce the source's own progress (called before :meth:`start`)."""

    def host_names(self) -> tuple[str, ...]:
        """Every host this source manages, reachable or not."""
        return ()

    async def rebootstrap(self, host: str) -> list[WorkerEndpoint]:
        """Start ``host``'s workers again; the endpoints that (re)appeared."""
        raise ClusterError(f"workers from this source cannot be bootstrapped again ({host})")

    def is_connected(self, host: str) -> bool:
        """False while the link to ``host`` is down (the source reconnects on its own)."""
        return True

    def log_file(self, worker: str) -> Optional[Path]:
        """The file on this machine holding ``worker``'s log, if there is one."""
        return None
