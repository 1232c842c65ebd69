"""``POST /process_chapter`` (the seed's one job) and ``POST /cancel/{chapter_id}`` (an extension).

The handler only puts the parts in order: refuse what cannot be spoken, take a
place on the runner, speak (stopping if cancelled or abandoned), encode, attach
the audio, count the outcome. Each part lives in a module of its own.
"""

from __future__ import annotations

import logging
import time
from typing import Optional, Union

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from .. import apidocs
from ..admission import admitted
from ..cancels import ATTEMPT_HEADER
from ..delivery import attach_audio
from ..disconnect import flag_reader, watching_disconnect
from ..encoding import encode_unit
from ..engine_config import prepare_config
from ..engines.base import EngineError
from ..limits import check_limits
from ..protocol import ProcessChapterRequest, ProcessChapterResponse, TTSConfig
from ..replies import chapter_reply
from ..state import State, WorkerState
from ..textsafe import one_line

__all__ = ["router"]

_LOG = logging.getLogger(__name__)

router = APIRouter()


@router.post("/process_chapter", response_model=ProcessChapterResponse, response_model_exclude_none=True,
             responses=apidocs.chapter_responses())
async def process_chapter(body: ProcessChapterRequest, request: Request,
                          state: State) -> Union[ProcessChapterResponse, JSONResponse]:
    tts_config = await _screened_config(body, state)
    engine = state.engine
    with admitted(state.runner, state.stats):
        began = time.monotonic()
        attempt = request.headers.get(ATTEMPT_HEADER, "")
        with state.cancels.registered(str(body.chapter_id), attempt) as cancel:
            async with watching_disconnect(request, cancel):
                try:
                    synthesis = await state.runner.synthesize(
                        body.chapter_id, body.sentences, tts_config, flag_reader(cancel), cancel
                    )
                except EngineError as exc:
                    return _failed(state, one_line(f"engine {engine.name} failed: {exc}"))
                except Exception as exc:  # any engine bug must still come back as one JSON line
                    _LOG.exception("synthesis of unit %r failed", body.chapter_id)
                    return _failed(state, one_line(f"synthesis failed: {type(exc).__name__}: {exc}"))
    if synthesis is None:
        state.stats.abandoned()
        cancelled = cancel.is_set()
        _LOG.info("unit %r dropped: %s", body.chapter_id,
                  "cancelled" if cancelled else "client went away while it was queued")
        raise HTTPException(status_code=499, detail="cancelled" if cancelled else "client closed the request")

    encoded = await encode_unit(synthesis, engine.sample_rate, body)
    reply = chapter_reply(body, synthesis, encoded, engine)
    await attach_audio(reply, encoded.data, body.response_mode, body.audio_format, state.downloads,
                       lambda name: str(request.url_for("download", file_id=name)))
    state.stats.done(len(body.sentences), encoded.assembled.duration, synthesis.engine_seconds,
                     time.monotonic() - began)
    return reply


async def _screened_config(body: ProcessChapterRequest, state: WorkerState) -> TTSConfig:
    """The engine-ready config, or 422 (counted as an invalid unit) for what cannot be spoken."""
    try:
        problem = check_limits(body)
        if problem is None and body.tts_config.verify:
            problem = state.verification.refusal()
        if problem is not None:
            raise HTTPException(status_code=422, detail=problem)
        return await prepare_config(body.tts_config, state.engine, state.voices)
    except HTTPException:
        state.stats.invalid()
        raise


def _failed(state: WorkerState, detail: str) -> JSONResponse:
    state.stats.failed()
    return JSONResponse(status_code=500, content={"detail": detail})


@router.post("/cancel/{chapter_id}", responses=apidocs.cancel_responses())
async def cancel_unit(chapter_id: str, state: State, attempt: Optional[str] = None) -> dict:
    """Stop a unit between two sentences (a protocol extension; a dropped connection does the same).

    ``attempt`` (the ``X-E2A-Attempt`` header its request carried) narrows it to one attempt, so a
    late cancel never stops a newer attempt at the same unit.
    """
    cancelled = state.cancels.cancel(chapter_id, attempt)
    if not cancelled:
        raise HTTPException(status_code=404, detail=f"unit {chapter_id} is not in flight here")
    return {"cancelled": cancelled}
