"""Prometheus metrics for one worker app, in a registry of its own.

A per-app :class:`CollectorRegistry` keeps several apps in one process (tests,
an orchestrator embedding a local worker) from colliding on metric names.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .gpu import GpuProbe

__all__ = ["WorkerMetrics", "CONTENT_TYPE"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _GpuCollector(Collector):
    """Reads NVML at scrape time, so the numbers are never stale."""

    def __init__(self, probe: GpuProbe) -> None:
        self._probe = probe

    def collect(self) -> Iterator[Metric]:
        snap = self._probe.snapshot()
        pairs = [
            ("e2a_worker_gpu_memory_used_bytes", "GPU memory in use", snap.memory_used_mb, 1024 * 1024),
            ("e2a_worker_gpu_memory_total_bytes", "GPU memory in all", snap.memory_total_mb, 1024 * 1024),
            ("e2a_worker_gpu_utilization_ratio", "GPU busy fraction (NVML)", snap.utilization_percent, 0.01),
        ]
        for name, doc, value, scale in pairs:
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value * scale)


class WorkerMetrics:
    """Every metric the worker exports; the app updates them as units go through."""

    def __init__(self, gpu: GpuProbe, queued: Callable[[], float], busy: Callable[[], float]) -> None:
        registry = CollectorRegistry(auto_describe=True)
        self.registry = registry
        started = time.monotonic()
        self.info = Info("e2a_worker", "Engine, voice and device of this worker", registry=registry)
        self.units = Counter(
            "e2a_worker_units", "Units answered, by outcome", ["outcome"], registry=registry
        )
        for outcome in ("ok", "failed", "rejected", "invalid", "abandoned"):
            self.units.labels(outcome)
        self.sentences = Counter("e2a_worker_sentences", "Sentences synthesised", registry=registry)
        self.audio_seconds = Counter(
            "e2a_worker_audio_seconds", "Seconds of audio produced", registry=registry
        )
        self.synthesis_seconds = Counter(
            "e2a_worker_synthesis_seconds", "Seconds the engine spent synthesising", registry=registry
        )
        self.unit_seconds = Histogram(
            "e2a_worker_unit_seconds",
            "Wall time of a unit from admission to response",
            buckets=(0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320, float("inf")),
            registry=registry,
        )
        Gauge("e2a_worker_busy", "1 while the engine is synthesising", registry=registry).set_function(busy)
        Gauge("e2a_worker_queued", "Units admitted and waiting for the engine", registry=registry).set_function(
            queued
        )
        Gauge("e2a_worker_uptime_seconds", "Seconds since the app was built", registry=registry).set_function(
            lambda: time.monotonic() - started
        )
        registry.register(_GpuCollector(gpu))

    def render(self) -> bytes:
        return generate_latest(self.registry)
