"""Everything one worker app owns, opened by its lifespan and handed to the routes as a dependency."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, AsyncIterator, Optional, Sequence

import anyio
from fastapi import Depends, FastAPI, Request

from . import __version__
from .cancels import CancelRegistry
from .downloads import DownloadStore
from .engine_runner import EngineRunner
from .engines.base import Engine
from .gpu import GpuProbe
from .metrics import WorkerMetrics
from .unit_stats import UnitStats
from .verifying import UnitVerification
from .voices import VoiceStore
from .workdir import WorkDir, sweep_stale

__all__ = ["WorkerState", "worker_state", "State"]


class WorkerState:
    """The engines and their runner, the stores, the counters; built by ``create_app``."""

    def __init__(self, engines: Sequence[Engine], *, gpu: GpuProbe, max_queued: int, download_ttl: float,
                 temp_parent: Optional[str], verification: Optional[UnitVerification] = None) -> None:
        self.engines = list(engines)
        self.engine = self.engines[0]
        self.runner = EngineRunner(self.engines, max_queued=max_queued)
        self.verification = verification or UnitVerification(None, "this worker was started without a recogniser")
        self.runner.verification = self.verification
        self.gpu = gpu
        self.metrics = WorkerMetrics(
            self.gpu, queued=lambda: float(self.runner.queued), busy=lambda: float(self.runner.busy),
            replicas=lambda: [(r.index, r.busy_seconds_now(), r.busy) for r in self.runner.replicas],
        )
        self.stats = UnitStats(self.metrics)
        self.cancels = CancelRegistry()
        self.voices: Optional[VoiceStore] = None
        self.download_ttl = download_ttl
        self.temp_parent = temp_parent
        self.downloads: Optional[DownloadStore] = None
        self.work_dir: Optional[WorkDir] = None
        self.started = time.monotonic()

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        """Load the engines once, open the stores, reap expired downloads until shutdown."""
        await self.open()
        reaper = asyncio.create_task(self.reap_downloads())
        try:
            yield
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
            self.close()

    async def open(self) -> None:
        for engine in self.engines:  # one after another: loading copies at once only races for memory
            await anyio.to_thread.run_sync(engine.load)
        await anyio.to_thread.run_sync(sweep_stale, self.temp_parent)
        self.work_dir = WorkDir(self.temp_parent)
        self.downloads = DownloadStore(self.work_dir.path, self.download_ttl)
        self.voices = VoiceStore(self.work_dir.path / "voices")
        self.gpu.open()
        self.metrics.info.info(
            {
                "engine": self.engine.name,
                "voice": self.engine.voice,
                "device": self.engine.device,
                "provider": self.engine.provider,
                "version": __version__,
                "model": self.engine.model,
                "replicas": str(len(self.engines)),
            }
        )
        self.started = time.monotonic()

    @property
    def model_memory_mb(self) -> Optional[float]:
        values = [e.memory_mb for e in self.engines]
        return None if any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]

    def close(self) -> None:
        self.runner.shutdown()
        self.gpu.close()
        if self.work_dir is not None:
            self.work_dir.close()

    async def reap_downloads(self) -> None:
        """Delete expired downloads now and then, so an idle worker frees its disk too."""
        period = max(1.0, min(60.0, self.download_ttl / 4))
        while True:
            await asyncio.sleep(period)
            if self.downloads is not None:
                self.downloads.expire()


def worker_state(request: Request) -> WorkerState:
    """FastAPI dependency: the state of the app serving ``request``."""
    return request.app.state.worker


#: A route parameter that receives the app's :class:`WorkerState`.
State = Annotated[WorkerState, Depends(worker_state)]
