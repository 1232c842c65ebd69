"""Run statistics for the end-of-run summary: who did what, how much was reused, when the last unit came."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["RunStats"]


@dataclass
class RunStats:
    started: float = field(default_factory=time.monotonic)
    synthesized: int = 0
    reused: int = 0
    last_unit_done: float = 0.0
    #: worker -> {"units": n, "audio_seconds": s, "request_seconds": s}
    per_worker: dict[str, dict[str, float]] = field(default_factory=dict)

    def unit_done(self, worker: str, audio_seconds: float, request_seconds: float) -> None:
        self.synthesized += 1
        self.last_unit_done = time.monotonic()
        stats = self.per_worker.setdefault(worker, {"units": 0, "audio_seconds": 0.0, "request_seconds": 0.0})
        stats["units"] += 1
        stats["audio_seconds"] += audio_seconds
        stats["request_seconds"] += request_seconds

    def unit_reused(self) -> None:
        self.reused += 1

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {name: dict(values) for name, values in self.per_worker.items()}
