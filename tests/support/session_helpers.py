"""Shared pieces of the run-session tests: an event recorder with the accounting checks, proxied workers."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Callable

from tui.core import events as ev
from tui.core.cluster import Offer, WorkerEndpoint, WorkerSource
from tui.core.local import LocalCluster

from tests.support.fault_proxy import FaultProxy, FaultRule

__all__ = ["Recorder", "Proxied"]


class Recorder:
    """Every event of a run, in order, with checks of the accounting rule."""

    def __init__(self) -> None:
        self.events: list = []
        self.waiters: list[tuple[Callable[[object], bool], asyncio.Future]] = []

    def __call__(self, event: object) -> None:
        self.events.append(event)
        for pred, fut in list(self.waiters):
            if not fut.done() and pred(event):
                fut.set_result(event)

    async def wait_for(self, pred: Callable[[object], bool], timeout: float = 240.0) -> object:
        for event in self.events:
            if pred(event):
                return event
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append((pred, fut))
        return await asyncio.wait_for(fut, timeout)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def check_accounting(self, session) -> None:
        started = Counter(e.attempt_id for e in self.of(ev.UnitStarted))
        ended = Counter(e.attempt_id for e in self.events if isinstance(e, ev.ATTEMPT_ENDINGS))
        assert max(started.values(), default=1) == 1, "an attempt id was started twice"
        assert started == ended, f"attempts without exactly one ending: {set(started) ^ set(ended)}"
        state = session.state
        o = state.overall
        assert o.units_done <= o.units_total
        assert sum(c.units_total for c in state.chapters.values()) == o.units_total == len(state.units)
        assert sum(c.done for c in state.chapters.values()) == o.units_done
        assert not any(u.running for u in state.units.values()), "an attempt is still shown running"
        assert not any(w.current for w in state.workers.values()), "a worker still shows a current unit"


class Proxied(WorkerSource):
    """Real local workers, each behind a fault proxy with its own rules."""

    offers = frozenset({Offer.EVENTS})

    def __init__(self, workdir: Path, count: int, rules: list[list[FaultRule]]) -> None:
        self.local = LocalCluster(count, workdir=workdir)
        self.rules = rules
        self.proxies: list[FaultProxy] = []

    def bind_events(self, publish) -> None:
        self.local.bind_events(publish)

    async def start(self) -> list[WorkerEndpoint]:
        endpoints = await self.local.start()
        out = []
        for ep, rules in zip(endpoints, self.rules):
            proxy = FaultProxy(ep.base_url, rules, token=ep.token).__enter__()
            self.proxies.append(proxy)
            out.append(WorkerEndpoint(ep.name, proxy.url, host="proxy"))
        return out

    async def stop(self) -> None:
        for proxy in self.proxies:
            proxy.__exit__()
        await self.local.stop()


