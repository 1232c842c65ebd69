"""One synthesis per replica at a time, one more waiting per replica, the rest told to come back.

A model copy is not re-entrant, so each replica (one loaded copy of the model)
runs its units on a thread of its own. A worker started with ``--replicas N``
keeps N copies on its device and runs up to N units at once, which fills a GPU
that one autoregressive model leaves idle between kernels. Keeping
``max_queued`` units admitted per replica behind the running ones means a
replica starts the next unit the moment its last one finishes, while encoding
and transfer of the finished one happen elsewhere. Inference never runs on the
event loop, so ``/health`` and ``/status`` answer at once during synthesis.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, Sequence, Union

import numpy as np

from .engines.base import Engine
from .protocol import SentenceCheck, TTSConfig
from .speaking import SpokenSentence, speak_sentence
from .verifying import VerificationCancelled

if TYPE_CHECKING:
    from .verifying import UnitVerification

__all__ = ["RunnerFull", "Synthesis", "Replica", "EngineRunner"]

UnitId = Union[int, str]

#: How often a queued unit checks whether its client is still there.
_ABANDON_POLL_SECONDS = 0.2


class RunnerFull(Exception):
    """No room: every replica is running and the queue is full."""


class _Cancelled(Exception):
    """The unit's cancel flag was set between two sentences."""


@dataclass(frozen=True)
class Synthesis:
    """Per-sentence PCM of one unit, how each sentence was spoken, and the engine time it took."""

    pieces: list[np.ndarray]
    engine_seconds: float
    sentences: list[Optional[SpokenSentence]] = field(default_factory=list)
    replica: int = 0
    started: float = 0.0
    finished: float = 0.0
    #: one per sentence when the request asked to verify
    checks: Optional[list[SentenceCheck]] = None


class Replica:
    """One loaded model copy with its own thread; counters feed ``/status`` and ``/metrics``."""

    def __init__(self, index: int, engine: Engine) -> None:
        self.index = index
        self.engine = engine
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"e2a-engine{index}")
        self.current: Optional[UnitId] = None
        self.units_done = 0
        self.busy_seconds = 0.0
        self._since: Optional[float] = None

    @property
    def busy(self) -> bool:
        return self.current is not None

    def busy_seconds_now(self) -> float:
        """Busy time including the unit running now (so a scrape mid-unit is not stale)."""
        running = time.monotonic() - self._since if self._since is not None else 0.0
        return self.busy_seconds + running

    def begin(self, unit_id: UnitId) -> None:
        self.current = unit_id
        self._since = time.monotonic()

    def end(self) -> None:
        if self._since is not None:
            self.busy_seconds += time.monotonic() - self._since
        self._since = None
        self.current = None


class EngineRunner:
    """Admission control plus a FIFO turn on the first free replica."""

    def __init__(self, engines: Union[Engine, Sequence[Engine]], max_queued: int = 1) -> None:
        if max_queued < 0:
            raise ValueError("max_queued must be >= 0")
        engine_list = [engines] if isinstance(engines, Engine) else list(engines)
        if not engine_list:
            raise ValueError("at least one engine is needed")
        self.replicas = [Replica(i, e) for i, e in enumerate(engine_list)]
        self.engine = engine_list[0]
        self.max_queued = max_queued
        self._admitted = 0
        self._free: collections.deque[int] = collections.deque(range(len(engine_list)))
        self._waiters: collections.deque[asyncio.Future[int]] = collections.deque()
        self.engine_seconds = 0.0
        self.sentences_done = 0
        self.peak_running = 0
        self.units_cancelled = 0
        #: sanity check on each take (off only for engines whose length is meaningless)
        self.check_takes = True
        #: hears units back when a request asks to verify (None: this worker cannot)
        self.verification: Optional[UnitVerification] = None

    # -- what /status shows --------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Units admitted at most: one running plus ``max_queued`` waiting, per replica."""
        return len(self.replicas) * (1 + self.max_queued)

    @property
    def running(self) -> int:
        return sum(1 for r in self.replicas if r.busy)

    @property
    def busy(self) -> bool:
        return self.running > 0

    @property
    def current(self) -> Optional[UnitId]:
        """The unit on the lowest-numbered busy replica (the seed's single ``current_chapter``)."""
        for replica in self.replicas:
            if replica.busy:
                return replica.current
        return None

    @property
    def queued(self) -> int:
        return self._admitted - self.running

    # -- admission -----------------------------------------------------------------------

    def admit(self) -> None:
        """Take a place (running or queued) or raise :class:`RunnerFull`. Pair with :meth:`leave`."""
        if self._admitted >= self.capacity:
            raise RunnerFull(
                f"worker busy: {self._admitted} unit(s) admitted, room for {self.capacity} "
                f"({len(self.replicas)} replica(s), queue {self.max_queued} each); retry later"
            )
        self._admitted += 1

    def leave(self) -> None:
        self._admitted -= 1

    # -- turns ---------------------------------------------------------------------------

    async def _wait_turn(self, abandoned: Callable[[], Awaitable[bool]]) -> Optional[int]:
        """A free replica's index once it is this unit's turn; None if its client went away first."""
        if self._free and not self._waiters:
            return self._free.popleft()
        turn: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            while True:
                done, _ = await asyncio.wait({turn}, timeout=_ABANDON_POLL_SECONDS)
                if done:
                    return turn.result()
                if await abandoned():
                    if turn.done():  # handed a replica while checking: pass it on
                        self._pass_turn(turn.result())
                    else:
                        self._waiters.remove(turn)
                    return None
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_turn(turn.result())
            elif turn in self._waiters:
                self._waiters.remove(turn)
            raise

    def _pass_turn(self, index: int) -> None:
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(index)
                return
        self._free.append(index)

    # -- work ----------------------------------------------------------------------------

    async def synthesize(
        self,
        unit_id: UnitId,
        sentences: Sequence[str],
        config: TTSConfig,
        abandoned: Callable[[], Awaitable[bool]],
        cancel: Optional[threading.Event] = None,
    ) -> Optional[Synthesis]:
        """Speak every sentence on a replica's thread; None if the client left while queued, or if
        ``cancel`` was set (checked between sentences, so a cancelled unit frees its replica within
        one sentence's time).

        Blank sentences are not sent to the engine; they yield empty pieces.
        """
        index = await self._wait_turn(abandoned)
        if index is None:
            return None
        replica = self.replicas[index]
        try:
            if await abandoned():
                return None
            replica.begin(unit_id)
            self.peak_running = max(self.peak_running, self.running)
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(replica.executor, self._run, replica, list(sentences), config,
                                                    cancel)
            except _Cancelled as stopped:
                self.engine_seconds += stopped.args[0]
                self.units_cancelled += 1
                return None
            self.engine_seconds += result.engine_seconds
            self.sentences_done += len(sentences)
            replica.units_done += 1
            return result
        finally:
            if replica.current is not None:
                replica.end()
            self._pass_turn(index)

    def _run(self, replica: Replica, sentences: list[str], config: TTSConfig,
             cancel: Optional[threading.Event] = None) -> Synthesis:
        empty = np.zeros(0, dtype=np.float32)
        pieces: list[np.ndarray] = []
        spoken: list[Optional[SpokenSentence]] = []
        started = time.perf_counter()
        wall_start = time.time()
        try:
            for sentence in sentences:
                if cancel is not None and cancel.is_set():
                    raise _Cancelled(time.perf_counter() - started)
                text = sentence.strip()
                if not text:
                    pieces.append(empty)
                    spoken.append(None)
                    continue
                said = speak_sentence(replica.engine, text, config, check=self.check_takes)
                pieces.append(said.samples)
                spoken.append(said)
            checks = None
            if config.verify and self.verification is not None:
                try:
                    pieces, checks = self.verification.verify(replica.engine, sentences, pieces, config, cancel)
                except VerificationCancelled:
                    raise _Cancelled(time.perf_counter() - started) from None
        finally:
            elapsed = time.perf_counter() - started
        return Synthesis(pieces, elapsed, spoken, replica.index, wall_start, time.time(), checks)

    def shutdown(self) -> None:
        for replica in self.replicas:
            replica.executor.shutdown(wait=True, cancel_futures=True)
