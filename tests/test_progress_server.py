"""The seed's master endpoint GET /progress/{session_id}: the state model's numbers, and commands in."""

from __future__ import annotations

import socket

import httpx

from tui.core import commands as cmd
from tui.core import events as ev
from tui.core.progress_server import serve_progress
from tui.core.state import RunState


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Session:
    """Just what the endpoint uses of a RunSession: its state model and its command inbox."""

    def __init__(self) -> None:
        self.state = RunState()
        self.sent: list = []

    def send(self, command) -> None:
        self.sent.append(command)


async def test_progress_endpoint_reports_the_state_model_and_takes_commands() -> None:
    session = _Session()
    port = _free_port()
    task = await serve_progress(session, port, "abc123")
    state = session.state
    try:
        state.apply(ev.BookLoaded("Book", "", "/x.m4b", (ev.ChapterInfo(0, "One", 10), ev.ChapterInfo(1, "Two", 10))))
        state.apply(ev.RunPlanned("abc123", tuple(ev.UnitPlan(f"c000{c}-u000{u}", c, 50, 10.0)
                                                  for c in (0, 1) for u in (0, 1))))
        state.apply(ev.RunStarted("Book", 4, 2, 0, 40.0, ("w1",)), now=0.0)
        for aid, uid in enumerate(("c0000-u0000", "c0000-u0001"), start=1):
            state.apply(ev.UnitStarted(aid, uid, 0, "w1", 1), now=1.0)
            state.apply(ev.UnitDone(aid, uid, 0, "w1", 10.0, 1.0), now=2.0)
        state.apply(ev.ChapterDone(0, "One", 20.0))
        async with httpx.AsyncClient(trust_env=False, base_url=f"http://127.0.0.1:{port}") as http:
            resp = await http.get("/progress/abc123")
            missing = await http.get("/progress/other")
            paused = await http.post("/progress/abc123/commands", json={"command": "pause"})
            retry = await http.post("/progress/abc123/commands", json={"command": "retry_chapter", "chapter": 2})
            bad = await http.post("/progress/abc123/commands", json={"command": "drain"})
            unknown = await http.post("/progress/abc123/commands", json={"command": "explode"})
    finally:
        task.cancel()
    assert resp.status_code == 200
    body = resp.json()
    assert body["session_id"] == "abc123"
    assert body["total_chapters"] == 2 and body["completed_chapters"] == 1
    assert body["progress_percent"] == 50.0
    assert body["completed_units"] == 2 and body["total_units"] == 4
    assert body["estimated_time_remaining"] is not None and body["estimated_time_remaining"] >= 0
    assert missing.status_code == 404
    assert paused.status_code == 202 and retry.status_code == 202
    assert session.sent == [cmd.Pause(), cmd.RetryChapter(1)]
    assert bad.status_code == 422 and "needs worker" in bad.json()["detail"]
    assert unknown.status_code == 422
