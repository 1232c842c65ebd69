"""How units ended: counted once, for ``/status`` and ``/metrics`` alike."""

from __future__ import annotations

from .metrics import WorkerMetrics

__all__ = ["UnitStats"]


class UnitStats:
    """Every outcome of ``POST /process_chapter`` goes through here, so the two views never disagree."""

    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics
        self.units_done = 0
        self.units_failed = 0
        self.audio_seconds = 0.0

    def invalid(self) -> None:
        """Refused before admission (422)."""
        self.metrics.units.labels("invalid").inc()

    def rejected(self) -> None:
        """No room (503)."""
        self.metrics.units.labels("rejected").inc()

    def abandoned(self) -> None:
        """Cancelled, or its client went away (499)."""
        self.metrics.units.labels("abandoned").inc()

    def failed(self) -> None:
        """The engine failed (500)."""
        self.units_failed += 1
        self.metrics.units.labels("failed").inc()

    def done(self, sentences: int, audio_seconds: float, synthesis_seconds: float, wall_seconds: float) -> None:
        """Answered with audio (200)."""
        self.units_done += 1
        self.audio_seconds += audio_seconds
        self.metrics.units.labels("ok").inc()
        self.metrics.sentences.inc(sentences)
        self.metrics.audio_seconds.inc(audio_seconds)
        self.metrics.synthesis_seconds.inc(synthesis_seconds)
        self.metrics.unit_seconds.observe(wall_seconds)
