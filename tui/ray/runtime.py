"""How the worker's code reaches the Ray nodes: the job's ``runtime_env``.

The ``remote_worker`` package of this orchestrator is uploaded with the job (``py_modules``), so
actors always run the same worker code as the orchestrator that talks to them. Its dependencies
(FastAPI, Piper or the XTTS stack) must already be in the nodes' Python (``pip install e2a-tui``
in the node image); a node without them fails the actor's creation, reported as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import remote_worker

from .settings import RaySettings

__all__ = ["job_runtime_env"]


def job_runtime_env(settings: RaySettings) -> dict[str, Any]:
    """The worker package and the run's environment variables (threads, ``[ray].env``)."""
    threads = str(settings.worker.get("threads", 1))
    env = {"OMP_NUM_THREADS": threads, "TOKENIZERS_PARALLELISM": "false", **settings.env}
    return {"py_modules": [str(Path(remote_worker.__file__).parent)], "excludes": ["__pycache__", "*.pyc"],
            "env_vars": env}
