"""The seed's master endpoint GET /progress/{session_id}, served on loopback from core events."""

from __future__ import annotations

import socket

import httpx

from tui.core import events as ev
from tui.core.progress_server import ProgressTracker, serve_progress


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_progress_endpoint_reports_events() -> None:
    tracker = ProgressTracker("abc123")
    port = _free_port()
    task = await serve_progress(tracker, port)
    try:
        tracker(ev.RunStarted("Book", total_units=4, total_chapters=2, already_done=0, est_audio_seconds=40.0,
                              workers=("w1",)))
        tracker(ev.UnitDone("c0000-u0000", 0, "w1", 10.0, 1.0))
        tracker(ev.UnitDone("c0000-u0001", 0, "w1", 10.0, 1.0))
        tracker(ev.ChapterDone(0, "One", 20.0))
        async with httpx.AsyncClient(trust_env=False) as http:
            resp = await http.get(f"http://127.0.0.1:{port}/progress/abc123")
            missing = await http.get(f"http://127.0.0.1:{port}/progress/other")
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
