"""``GET``/``PUT /voices/{sha256}``: reference voices for cloning engines, uploaded once, named by hash.

The URL names the file's sha256, so a client checks with GET and never sends the same voice twice.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from ..protocol import ErrorResponse, InvalidRequestResponse, VoiceResponse
from ..state import State
from ..voices import MAX_VOICE_BYTES, VoiceError, VoiceInfo

__all__ = ["router"]

router = APIRouter()

Sha256 = Annotated[str, PathParam(pattern="^[0-9a-f]{64}$")]
_NOT_A_HASH = "not a sha256 (64 lowercase hex digits)"


@router.get(
    "/voices/{sha256}",
    response_model=VoiceResponse,
    responses={404: {"model": ErrorResponse, "description": "no such voice here"},
               422: {"model": InvalidRequestResponse, "description": _NOT_A_HASH}},
)
async def voice_info(sha256: Sha256, state: State) -> JSONResponse:
    """Is this reference voice here?"""
    info = state.voices.get(sha256) if state.voices is not None else None
    if info is None:
        raise HTTPException(status_code=404, detail=f"no voice {sha256} on this worker")
    return JSONResponse(content=_voice_response(info).model_dump())


@router.put(
    "/voices/{sha256}",
    response_model=VoiceResponse,
    responses={
        201: {"description": "stored", "model": VoiceResponse},
        409: {"model": ErrorResponse, "description": "the body's sha256 is not the one named in the URL"},
        413: {"model": ErrorResponse, "description": f"larger than {MAX_VOICE_BYTES // (1024 * 1024)} MiB"},
        415: {"model": ErrorResponse, "description": "not audio"},
        422: {"model": InvalidRequestResponse, "description": f"{_NOT_A_HASH}, or audio too short or too long"},
    },
    openapi_extra={"requestBody": {"required": False, "content": {
        "audio/wav": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def store_voice(request: Request, sha256: Sha256, state: State) -> JSONResponse:
    """Store a reference voice under its sha256 (200 when it was already here, 201 when new)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_VOICE_BYTES:
        raise HTTPException(status_code=413, detail=f"reference voice larger than {MAX_VOICE_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_VOICE_BYTES:
            raise HTTPException(status_code=413, detail=f"reference voice larger than {MAX_VOICE_BYTES} bytes")
        chunks.append(chunk)
    assert state.voices is not None, "the voice store is opened by the lifespan"
    try:
        info, created = await anyio.to_thread.run_sync(state.voices.put, sha256, b"".join(chunks))
    except VoiceError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    return JSONResponse(status_code=201 if created else 200, content=_voice_response(info, created).model_dump())


def _voice_response(info: VoiceInfo, created: bool = False) -> VoiceResponse:
    return VoiceResponse(sha256=info.sha256, size_bytes=info.size_bytes, sample_rate=info.sample_rate,
                         seconds=info.seconds, created=created)
