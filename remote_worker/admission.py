"""A place on the engine runner for one unit, or 503 with ``Retry-After`` when there is none."""

from __future__ import annotations

import contextlib
from typing import Iterator

from fastapi import HTTPException

from .engine_runner import EngineRunner, RunnerFull
from .unit_stats import UnitStats

__all__ = ["RETRY_AFTER_SECONDS", "admitted"]

#: What a busy worker tells the client to wait before it tries again.
RETRY_AFTER_SECONDS = 1


@contextlib.contextmanager
def admitted(runner: EngineRunner, stats: UnitStats) -> Iterator[None]:
    """Hold a place (running or queued) for the block; the place is given back as soon as it ends,
    so the next unit can start while this one is still being encoded and sent."""
    try:
        runner.admit()
    except RunnerFull as exc:
        stats.rejected()
        raise HTTPException(status_code=503, detail=str(exc),
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
    try:
        yield
    finally:
        runner.leave()
