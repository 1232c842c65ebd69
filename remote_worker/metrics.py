"""Prometheus metrics for one worker app, in a registry of its own.

A per-app :class:`CollectorRegistry` keeps several apps in one process (tests,
an orchestrator embedding a local worker) from colliding on metric names.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator, Optional, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
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


ReplicaReading = tuple[int, float, bool]
"""(replica index, busy seconds so far, busy now)"""


class _ReplicaCollector(Collector):
    """Per-replica busy time, read at scrape time so a long unit shows up while it runs."""

    def __init__(self, read: Callable[[], Sequence[ReplicaReading]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        seconds = CounterMetricFamily(
            "e2a_worker_replica_busy_seconds", "Seconds each model replica spent on units", labels=["replica"]
        )
        busy = GaugeMetricFamily("e2a_worker_replica_busy", "1 while the replica runs a unit", labels=["replica"])
        for index, busy_seconds, is_busy in self._read():
            seconds.add_metric([str(index)], busy_seconds)
            busy.add_metric([str(index)], 1.0 if is_busy else 0.0)
        yield seconds
        yield busy


class WorkerMetrics:
    """Every metric the worker exports; the app updates them as units go through."""

    def __init__(
        self,
        gpu: GpuProbe,
        queued: Callable[[], float],
        busy: Callable[[], float],
        replicas: Optional[Callable[[], Sequence[ReplicaReading]]] = None,
    ) -> None:
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
        if replicas is not None:
            registry.register(_ReplicaCollector(replicas))

    def render(self) -> bytes:
        return generate_latest(self.registry)
