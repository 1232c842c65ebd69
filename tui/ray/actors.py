"""Starting one worker actor on a reserved bundle and learning where it landed (code: ``runtime.py``)."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import ray
import ray.exceptions as rex
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

import remote_worker
from remote_worker.ray_actor import WorkerActor

from ..core.cluster import ClusterError
from .connect import NAMESPACE
from .plan import WorkerPlan
from .settings import RaySettings
from .transport import cause_line
from ..core.waiting import within

__all__ = ["start_actor", "describe", "kill_actor", "worker_name", "ACTOR_CLASS_NAME"]

#: Ray's name for the actor class (``status``/``stop`` find actors by it; also the process title)
ACTOR_CLASS_NAME = WorkerActor.__name__
#: seconds an actor may take to load its engine the first time (runtime_env upload included)
START_TIMEOUT_S = 300.0

_remote_class: Optional[Any] = None


def start_actor(index: int, run_tag: str, plan: WorkerPlan, group: Any, settings: RaySettings,
                token: str) -> Any:
    """One actor on bundle ``index`` of ``group``; returns its handle at once (it loads in the background)."""
    global _remote_class
    if _remote_class is None:
        _remote_class = ray.remote(WorkerActor)
    return _remote_class.options(
        name=f"e2a-{run_tag}-{index + 1}", namespace=NAMESPACE, num_cpus=plan.cpus, num_gpus=plan.gpus,
        max_restarts=settings.max_restarts, max_task_retries=0, max_concurrency=64,
        scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=index),
    ).remote(dict(settings.worker), token)


async def describe(handle: Any, timeout: float = START_TIMEOUT_S) -> dict:
    """Where the actor runs (waits for its engine to load); ClusterError in one line if it cannot start."""
    try:
        info = await within(asyncio.wrap_future(handle.describe.remote().future()), timeout)
    except asyncio.TimeoutError:
        raise ClusterError(f"a Ray worker did not start within {timeout:g} s") from None
    except rex.RuntimeEnvSetupError as exc:
        raise ClusterError(f"the Ray nodes could not set up the worker's runtime_env: {cause_line(exc)}") from None
    except rex.RayError as exc:
        raise ClusterError(f"a Ray worker could not start: {cause_line(exc)} (the nodes' Python needs "
                           "e2a-tui's worker dependencies: pip install e2a-tui there, or use the worker image)"
                           ) from None
    if info.get("version") != remote_worker.__version__:
        raise ClusterError(f"a Ray worker runs e2a worker {info.get('version')}, this orchestrator "
                           f"{remote_worker.__version__}: install the same version on the nodes")
    return info


def worker_name(index: int, info: dict) -> str:
    """``ray-2@10.0.0.7/gpu1``, or ``.../cpu``: the node and GPU show in every view."""
    gpus = info.get("gpus") or []
    return f"ray-{index + 1}@{info.get('node_ip', '?')}/" + (f"gpu{','.join(gpus)}" if gpus else "cpu")


def kill_actor(handle: Any, *, graceful: bool = True) -> None:
    """Leave the app's lifespan (temp folder) if it answers in 5 s, then kill without restart."""
    if graceful:
        try:
            ray.get(handle.shutdown.remote(), timeout=5)
        except Exception:  # noqa: BLE001 - dead or hung: kill anyway
            pass
    try:
        ray.kill(handle, no_restart=True)
    except Exception:  # noqa: BLE001 - already gone
        pass
