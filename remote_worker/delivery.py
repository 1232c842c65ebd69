"""Attach a unit's encoded audio to its reply: inline as base64 (seed option A) or as a URL (option B)."""

from __future__ import annotations

import base64
from typing import Callable, Optional

import anyio

from .downloads import DownloadStore
from .protocol import AudioFormat, ProcessChapterResponse, ResponseMode

__all__ = ["attach_audio"]


async def attach_audio(reply: ProcessChapterResponse, data: bytes, mode: ResponseMode, audio_format: AudioFormat,
                       downloads: Optional[DownloadStore], url_for: Callable[[str], str]) -> None:
    """``url`` keeps the file in ``downloads`` (written on a thread) and names it; ``base64`` inlines it."""
    if mode == "url":
        assert downloads is not None, "downloads are opened by the lifespan"
        item = await anyio.to_thread.run_sync(downloads.put, data, audio_format)
        reply.audio_url = url_for(item.name)
    else:
        reply.audio_base64 = base64.b64encode(data).decode("ascii")
