"""One synthesis at a time, one more waiting, everything else told to come back later.

The model is not re-entrant, so units take turns on a single engine thread.
Keeping one unit admitted behind the running one means the engine starts the
next unit the moment the last one finishes, while encoding and transfer of the
finished one happen elsewhere. Inference never runs on the event loop, so
``/health`` and ``/status`` answer at once during synthesis.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, Sequence, Union

import numpy as np

from .engines.base import Engine
from .protocol import TTSConfig

__all__ = ["WorkerBusy", "Synthesis", "EngineRunner"]

UnitId = Union[int, str]

#: How often a queued unit checks whether its client is still there.
_ABANDON_POLL_SECONDS = 0.2


class WorkerBusy(Exception):
    """No room: one unit is running and the queue is full."""


class _Cancelled(Exception):
    """The unit's cancel flag was set between two sentences."""


@dataclass(frozen=True)
class Synthesis:
    """Per-sentence PCM of one unit and the engine time it took."""

    pieces: list[np.ndarray]
    engine_seconds: float


class EngineRunner:
    """Admission control plus a FIFO turn on a single engine thread."""

    def __init__(self, engine: Engine, max_queued: int = 1) -> None:
        if max_queued < 0:
            raise ValueError("max_queued must be >= 0")
        self.engine = engine
        self.max_queued = max_queued
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2a-engine")
        self._admitted = 0
        self._running = False
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.current: Optional[UnitId] = None
        self.engine_seconds = 0.0
        self.sentences_done = 0
        self.units_cancelled = 0

    # -- what /status shows --------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.current is not None

    @property
    def queued(self) -> int:
        return self._admitted - (1 if self.busy else 0)

    # -- admission -----------------------------------------------------------------------

    def admit(self) -> None:
        """Take a place (running or queued) or raise :class:`WorkerBusy`. Pair with :meth:`leave`."""
        if self._admitted >= 1 + self.max_queued:
            raise WorkerBusy(
                f"worker busy: {self._admitted} unit(s) admitted, queue holds {self.max_queued}; retry later"
            )
        self._admitted += 1

    def leave(self) -> None:
        self._admitted -= 1

    # -- turns ---------------------------------------------------------------------------

    async def _wait_turn(self, abandoned: Callable[[], Awaitable[bool]]) -> bool:
        """True once it is this unit's turn; False if its client went away first."""
        if not self._running and not self._waiters:
            self._running = True
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            while True:
                done, _ = await asyncio.wait({turn}, timeout=_ABANDON_POLL_SECONDS)
                if done:
                    return True
                if await abandoned():
                    if turn.done():  # handed the turn while checking: pass it on
                        self._pass_turn()
                    else:
                        self._waiters.remove(turn)
                    return False
        except asyncio.CancelledError:
            if turn.done():
                self._pass_turn()
            elif turn in self._waiters:
                self._waiters.remove(turn)
            raise

    def _pass_turn(self) -> None:
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._running = False

    # -- work ----------------------------------------------------------------------------

    async def synthesize(
        self,
        unit_id: UnitId,
        sentences: Sequence[str],
        config: TTSConfig,
        abandoned: Callable[[], Awaitable[bool]],
        cancel: Optional[threading.Event] = None,
    ) -> Optional[Synthesis]:
        """Speak every sentence on the engine thread; None if the client left while queued, or if
        ``cancel`` was set (checked between sentences, so a cancelled unit frees the engine within
        one sentence's time).

        Blank sentences are not sent to the engine; they yield empty pieces.
        """
        if not await self._wait_turn(abandoned):
            return None
        try:
            if await abandoned():
                return None
            self.current = unit_id
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(self._executor, self._run, list(sentences), config, cancel)
            except _Cancelled as stopped:
                self.engine_seconds += stopped.args[0]
                self.units_cancelled += 1
                return None
            self.engine_seconds += result.engine_seconds
            self.sentences_done += len(sentences)
            return result
        finally:
            self.current = None
            self._pass_turn()

    def _run(self, sentences: list[str], config: TTSConfig, cancel: Optional[threading.Event] = None) -> Synthesis:
        empty = np.zeros(0, dtype=np.float32)
        pieces: list[np.ndarray] = []
        started = time.perf_counter()
        try:
            for sentence in sentences:
                if cancel is not None and cancel.is_set():
                    raise _Cancelled(time.perf_counter() - started)
                text = sentence.strip()
                pieces.append(self.engine.synthesize(text, config) if text else empty)
        finally:
            elapsed = time.perf_counter() - started
        return Synthesis(pieces, elapsed)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
