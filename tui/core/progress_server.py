"""The seed's optional master endpoint ``GET /progress/{session_id}``, on loopback only.

It reports the session's state model (the numbers every other front end shows)
and takes the session's commands: ``POST /progress/{session_id}/commands``
with ``{"command": "pause"}`` (pause, resume, stop, abort, retry_chapter,
requeue_chapter, retry_unit, drain, undrain, rebootstrap).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Optional

from pydantic import BaseModel

from . import commands as cmd
from .progress_models import ProgressResponse
from .state import RunState

__all__ = ["progress_snapshot", "serve_progress", "CommandRequest", "command_from_request"]


def progress_snapshot(state: RunState, session_id: str) -> ProgressResponse:
    """The seed's progress fields, read off the state model."""
    o = state.overall
    eta = state.eta()
    return ProgressResponse(
        session_id=session_id, total_chapters=sum(1 for c in state.chapters.values() if c.unit_ids),
        completed_chapters=state.chapters_done(), progress_percent=round(state.percent(), 1),
        estimated_time_remaining=None if eta is None else round(eta, 1),
        total_units=o.units_total, completed_units=o.units_done, failed_units=o.units_quarantined,
    )


class CommandRequest(BaseModel):
    command: str
    chapter: Optional[int] = None  # 1-based, as the chapter list shows it
    unit: Optional[str] = None
    worker: Optional[str] = None
    host: Optional[str] = None
    redo: bool = False


def command_from_request(body: CommandRequest) -> cmd.Command:
    """A typed command from the JSON body; ValueError (one line) when it is incomplete or unknown."""
    name = body.command.strip().lower().replace("-", "_")
    simple = {"pause": cmd.Pause, "resume": cmd.Resume, "stop": cmd.Stop, "abort": cmd.Abort}
    if name in simple:
        return simple[name]()

    def need(value, what: str):
        if value is None:
            raise ValueError(f"{name} needs {what}")
        return value

    if name == "retry_chapter":
        return cmd.RetryChapter(need(body.chapter, "chapter") - 1)
    if name == "requeue_chapter":
        return cmd.RequeueChapter(need(body.chapter, "chapter") - 1, redo=body.redo)
    if name == "retry_unit":
        return cmd.RetryUnit(need(body.unit, "unit"))
    if name == "drain":
        return cmd.Drain(need(body.worker, "worker"))
    if name == "undrain":
        return cmd.Undrain(need(body.worker, "worker"))
    if name == "rebootstrap":
        return cmd.Rebootstrap(need(body.host, "host"))
    raise ValueError(f"unknown command {body.command!r}")


async def serve_progress(session, port: int, session_id: str, *, host: str = "127.0.0.1") -> "asyncio.Task[None]":
    """Start the endpoint for ``session`` (a RunSession) in this event loop; cancel the task to stop it."""
    import uvicorn
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title="e2a-tui progress")

    def check(sid: str) -> None:
        if sid != session_id:
            raise HTTPException(status_code=404, detail=f"unknown session {sid}")

    @app.get("/progress/{sid}", response_model=ProgressResponse, responses={404: {"description": "unknown session"}})
    async def progress(sid: str) -> ProgressResponse:
        check(sid)
        return progress_snapshot(session.state, session_id)

    @app.post("/progress/{sid}/commands", status_code=202,
              responses={404: {"description": "unknown session"}, 422: {"description": "bad command"}})
    async def command(sid: str, body: CommandRequest) -> dict:
        check(sid)
        try:
            typed = command_from_request(body)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        session.send(typed)
        return {"accepted": type(typed).__name__}

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
