"""``GET /download/{file_id}``: audio an earlier ``audio_url`` named, while its time limit lasts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from .. import apidocs
from ..audio import MEDIA_TYPES
from ..state import State

__all__ = ["router"]

router = APIRouter()


@router.get("/download/{file_id}", name="download", response_class=FileResponse,
            responses=apidocs.download_responses())
async def download(file_id: str, state: State) -> FileResponse:
    item = state.downloads.get(file_id) if state.downloads is not None else None
    if item is None:
        raise HTTPException(status_code=404, detail="no such download (unknown or expired)")
    return FileResponse(item.path, media_type=MEDIA_TYPES[item.audio_format], filename=item.name)
