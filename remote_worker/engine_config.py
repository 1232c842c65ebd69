"""A request's ``tts_config`` made ready for the engine, or refused with 422 in one line."""

from __future__ import annotations

from typing import Optional

import anyio
from fastapi import HTTPException

from .engines.base import Engine
from .protocol import TTSConfig
from .voices import VoiceError, VoiceStore

__all__ = ["CLONING_FIELDS", "prepare_config"]

#: Keys only a cloning engine reads; any other engine's schema leaves them out.
CLONING_FIELDS = ("speaker_wav", "speaker")


async def prepare_config(config: TTSConfig, engine: Engine, voices: Optional[VoiceStore]) -> TTSConfig:
    """Turn an uploaded voice's hash into its file and let the engine refuse what it cannot speak.

    An engine that cannot clone ignores ``speaker_wav`` and ``speaker``, as it ignores every key it
    does not know (seed rule), so what its schema leaves out it never refuses either.
    """
    if not engine.clones_voices:
        config = config.model_copy(update=dict.fromkeys(CLONING_FIELDS))
    elif config.speaker_wav:
        assert voices is not None, "the voice store is opened by the lifespan"
        try:
            path = await anyio.to_thread.run_sync(voices.resolve, config.speaker_wav)
        except VoiceError as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from None
        config = config.model_copy(update={"speaker_wav": str(path)})
    problem = _speaker_id_problem(config, engine.speaker_id_count) or engine.check_config(config)
    if problem is not None:
        raise HTTPException(status_code=422, detail=problem)
    return config


def _speaker_id_problem(config: TTSConfig, count: int) -> Optional[str]:
    """A multi-speaker model takes speaker ids 0..count-1 (its schema says so); others ignore them."""
    if count and config.speaker_id is not None and not 0 <= config.speaker_id < count:
        return f"speaker_id {config.speaker_id} is not one of this voice's speakers (0-{count - 1})"
    return None
