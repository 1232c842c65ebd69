"""The seed's optional master endpoint ``GET /progress/{session_id}``, on loopback only."""

from __future__ import annotations

import asyncio
import time
from typing import Optional

from remote_worker.protocol import ProgressResponse

from . import events as ev

__all__ = ["ProgressTracker", "serve_progress"]


class ProgressTracker:
    """Folds core events into the numbers the progress endpoint reports."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.total_units = 0
        self.total_chapters = 0
        self.done_units = 0
        self.failed_units = 0
        self.done_chapters: set[int] = set()
        self.est_audio = 0.0
        self.audio = 0.0
        self.started = time.monotonic()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.total_units, self.total_chapters = event.total_units, event.total_chapters
            self.est_audio, self.started = event.est_audio_seconds, time.monotonic()
        elif isinstance(event, ev.UnitDone):
            self.done_units += 1
            if not event.reused:
                self.audio += event.audio_seconds
        elif isinstance(event, ev.UnitFailed) and event.quarantined:
            self.failed_units += 1
        elif isinstance(event, ev.ChapterDone):
            self.done_chapters.add(event.chapter_index)

    def snapshot(self) -> ProgressResponse:
        elapsed = time.monotonic() - self.started
        speed = self.audio / elapsed if elapsed > 0 else 0.0
        remaining: Optional[float] = None
        if speed > 0:
            remaining = max(0.0, (self.est_audio - self.audio) / speed)
        pct = 100.0 * self.done_units / self.total_units if self.total_units else 0.0
        return ProgressResponse(
            session_id=self.session_id, total_chapters=self.total_chapters,
            completed_chapters=len(self.done_chapters), progress_percent=round(pct, 1),
            estimated_time_remaining=None if remaining is None else round(remaining, 1),
            total_units=self.total_units, completed_units=self.done_units, failed_units=self.failed_units,
        )


async def serve_progress(tracker: ProgressTracker, port: int, *, host: str = "127.0.0.1") -> "asyncio.Task[None]":
    """Start the endpoint in this event loop; cancel the returned task to stop it."""
    import uvicorn
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title="e2a-tui progress")

    @app.get("/progress/{session_id}", response_model=ProgressResponse)
    async def progress(session_id: str) -> ProgressResponse:
        if session_id != tracker.session_id:
            raise HTTPException(status_code=404, detail=f"unknown session {session_id}")
        return tracker.snapshot()

    import socket

    sock = socket.socket()
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot serve progress on {host}:{port}: {exc.strerror}") from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():
        task.result()
    return task
