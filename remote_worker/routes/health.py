"""``GET /health``: the one endpoint open without a token, so a client can tell "up" from "refused"."""

from __future__ import annotations

from fastapi import APIRouter

from .. import __version__
from ..protocol import HealthResponse
from ..state import State

__all__ = ["router"]

router = APIRouter()


@router.get("/health", response_model=HealthResponse)
async def health(state: State) -> HealthResponse:
    engine = state.engine
    return HealthResponse(
        status="healthy",
        gpu_available=state.gpu.available,
        model_loaded=engine.loaded,
        engine=engine.name,
        version=__version__,
        model=engine.model,
        device=engine.device,
        replicas=len(state.engines),
        model_memory_mb=state.model_memory_mb,
        verify=state.verification.info(),
    )
