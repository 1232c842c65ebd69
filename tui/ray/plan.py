"""How many workers a cluster can hold and what each asks for, decided before any actor starts.

Resources are reserved up front in one placement group (one bundle per worker, spread over the
nodes): a request no node could ever hold is refused at once, and one the cluster cannot give
right now is refused after :data:`RESERVE_TIMEOUT_S` with what is free, instead of actors that
wait for resources forever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..core.cluster import ClusterError
from .settings import RaySettings

__all__ = ["WorkerPlan", "NodeInfo", "plan_workers", "reserve", "release", "RESERVE_TIMEOUT_S",
           "CPU_WORKERS_PER_NODE", "CPU_WORKERS_MAX"]

RESERVE_TIMEOUT_S = 15.0
#: a CPU-only cluster gets one worker per CPU, at most this many per node and in all
CPU_WORKERS_PER_NODE = 8
CPU_WORKERS_MAX = 32


@dataclass(frozen=True)
class NodeInfo:
    ip: str
    cpus: float
    gpus: float


@dataclass(frozen=True)
class WorkerPlan:
    count: int
    gpus: float  # per worker
    cpus: float  # per worker

    def bundle(self) -> dict[str, float]:
        wanted = {"CPU": self.cpus, "GPU": self.gpus}
        return {k: v for k, v in wanted.items() if v > 0} or {"CPU": 0.01}

    def describe(self) -> str:
        parts = [f"{self.cpus:g} CPU"] + ([f"{self.gpus:g} GPU"] if self.gpus else [])
        return f"{self.count} worker(s) x {' + '.join(parts)}"


def alive_nodes() -> list[NodeInfo]:
    import ray

    return [NodeInfo(n["NodeManagerAddress"], float(n["Resources"].get("CPU", 0)), float(n["Resources"].get("GPU", 0)))
            for n in ray.nodes() if n.get("Alive")]


def plan_workers(settings: RaySettings, nodes: list[NodeInfo]) -> WorkerPlan:
    """The workers to start: ``--ray-workers`` or one per GPU (per CPU, capped, with no GPU at all)."""
    if not nodes:
        raise ClusterError("the Ray cluster has no live node")
    has_gpus = any(n.gpus > 0 for n in nodes)
    gpus = settings.gpus_per_worker if settings.gpus_per_worker is not None else (1.0 if has_gpus else 0.0)
    cpus = settings.cpus_per_worker if gpus == 0 else min(settings.cpus_per_worker, 1.0)
    fits = [n for n in nodes if n.cpus >= cpus and n.gpus >= gpus]
    if not fits:
        raise ClusterError(f"no node of the Ray cluster can hold a worker asking for {_ask(cpus, gpus)} "
                           f"(nodes: {summary(nodes)}); ask for less with --ray-gpus-per-worker")
    if settings.workers is not None:
        count = settings.workers
    elif gpus > 0:
        count = sum(math.floor(n.gpus / gpus + 1e-9) for n in fits)
    else:
        per_node = [min(CPU_WORKERS_PER_NODE, math.floor(n.cpus / cpus + 1e-9) if cpus else CPU_WORKERS_PER_NODE)
                    for n in fits]
        count = min(CPU_WORKERS_MAX, sum(per_node))
    return WorkerPlan(max(1, count), gpus, cpus)


def _ask(cpus: float, gpus: float) -> str:
    return f"{cpus:g} CPU" + (f" and {gpus:g} GPU" if gpus else "")


def summary(nodes: list[NodeInfo]) -> str:
    return ", ".join(f"{n.ip} {n.cpus:g} CPU/{n.gpus:g} GPU" for n in nodes)


def reserve(plan: WorkerPlan, timeout: float = RESERVE_TIMEOUT_S) -> Any:
    """One placement group holding every worker's resources; ClusterError if it is not ready in time."""
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group

    group = placement_group([plan.bundle() for _ in range(plan.count)], strategy="SPREAD")
    if group.wait(timeout_seconds=timeout):
        return group
    remove_placement_group(group)
    free = ray.available_resources()
    raise ClusterError(f"the Ray cluster cannot give {plan.describe()} within {timeout:g} s "
                       f"(free now: {free.get('CPU', 0):g} CPU, {free.get('GPU', 0):g} GPU); "
                       "ask for fewer with --ray-workers")


def release(group: Any) -> None:
    from ray.util.placement_group import remove_placement_group

    try:
        remove_placement_group(group)
    except Exception:  # noqa: BLE001 - the cluster may be gone already
        pass
