"""The design's own wire models (SEED_API.md), copied as its reference: a client written against the
design parses our worker's replies with exactly these. Pydantic v2 defaults: extra fields are ignored,
``int`` refuses ``null`` and floats with a fraction. Do not "fix" these to fit the worker."""

from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel

__all__ = ["ChapterRequest", "ChapterResponse", "HealthResponse", "StatusResponse"]


class ChapterRequest(BaseModel):
    chapter_id: int
    sentences: List[str]
    tts_config: dict


class ChapterResponse(BaseModel):
    chapter_id: int
    audio_base64: Optional[str] = None
    audio_url: Optional[str] = None
    duration: float
    num_sentences: int


class HealthResponse(BaseModel):
    status: str
    gpu_available: bool
    model_loaded: bool


class StatusResponse(BaseModel):
    status: str
    current_chapter: Optional[int] = None
    gpu_memory_free_mb: int
    uptime_seconds: int
