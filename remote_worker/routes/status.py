"""``GET /status`` (the seed's fields plus what a dashboard shows) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response

from .. import __version__, apidocs
from ..metrics import CONTENT_TYPE
from ..protocol import ReplicaStatus, StatusResponse
from ..state import State

__all__ = ["router"]

router = APIRouter()


@router.get("/status", response_model=StatusResponse)
async def status(state: State) -> StatusResponse:
    engine, runner, stats = state.engine, state.runner, state.stats
    snap = state.gpu.snapshot()
    return StatusResponse(
        status="busy" if runner.busy else "idle",
        current_chapter=runner.current,
        gpu_memory_free_mb=int(snap.memory_free_mb or 0),
        uptime_seconds=int(time.monotonic() - state.started),
        queued=runner.queued,
        engine=engine.name,
        voice=engine.voice,
        device=engine.device,
        provider=engine.provider,
        threads=engine.threads,
        gpu_name=snap.name,
        gpu_memory_used_mb=snap.memory_used_mb,
        gpu_memory_total_mb=snap.memory_total_mb,
        gpu_utilization_percent=snap.utilization_percent,
        units_done=stats.units_done,
        units_failed=stats.units_failed,
        audio_seconds=stats.audio_seconds,
        synthesis_seconds=runner.engine_seconds,
        verify_seconds=state.verification.asr_seconds,
        verify_audio_seconds=state.verification.audio_seconds,
        retakes=state.verification.retakes,
        version=__version__,
        model=engine.model,
        replicas=len(runner.replicas),
        running=runner.running,
        peak_running=runner.peak_running,
        model_memory_mb=state.model_memory_mb,
        replica_status=[
            ReplicaStatus(index=r.index, busy=r.busy, current_chapter=r.current, units_done=r.units_done,
                          busy_seconds=r.busy_seconds_now(), model_memory_mb=r.engine.memory_mb)
            for r in runner.replicas
        ],
        languages=engine.languages,
        speakers=engine.speakers,
    )


@router.get("/metrics", response_class=Response, responses=apidocs.metrics_responses())
async def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
