"""The headless front end renders core events as plain lines (no terminal) and a final summary."""

from __future__ import annotations

import io

from tui.core import events as ev
from tui.frontends.headless import HeadlessRenderer, format_duration, format_summary


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    view = HeadlessRenderer(out, interactive=False, log_interval=0.0)
    view(ev.RunStarted("Book", total_units=2, total_chapters=1, already_done=0, est_audio_seconds=20.0,
                       workers=("a", "b")))
    view(ev.UnitDone("c0000-u0000", 0, "a", 10.0, 1.0))
    view(ev.UnitFailed("c0000-u0001", 0, "b", "b: 500 boom", quarantined=True))
    view(ev.WorkerState("b", "down", "host", "connection lost"))
    view(ev.ChapterDone(0, "One", 10.0))
    text = out.getvalue()
    assert "Book: 1 chapters, 2 units" in text and "on 2 worker(s)" in text
    assert "progress: 1/2 units (50%)" in text
    assert "unit c0000-u0001 failed on b: b: 500 boom (quarantined)" in text
    assert "worker b is down: connection lost" in text
    assert "chapter 1 done: One (0:10)" in text
    assert "\x1b[" not in text  # no terminal control codes in a log


def test_summary_reports_speed_workers_and_partial_result() -> None:
    result = ev.RunFinished(
        ok=False, outputs=("/x/book.m4b",), audio_seconds=3600.0, wall_seconds=240.0, units_total=100,
        units_synthesized=90, units_reused=8, quarantined=("c0003-u0001", "c0004-u0002"),
        per_worker={"gpu1/0": {"units": 60, "audio_seconds": 2400.0, "wall_seconds": 150.0},
                    "gpu2/0": {"units": 30, "audio_seconds": 1200.0, "wall_seconds": 150.0}},
        tail_seconds=1.5, error="2 unit(s) missing: c0003-u0001, c0004-u0002",
    )
    text = format_summary(result)
    assert text.startswith("Finished with problems: 1:00:00 of audio in 4:00 (15.0x real time)")
    assert "Units: 100 total, 90 synthesized, 8 reused, 2 quarantined" in text
    assert "gpu1/0: 60 units, 40:00 audio, 10.0x real time" in text
    assert "Wrote /x/book.m4b" in text
    assert "Partial audiobook" in text and "c0003-u0001" in text
    assert format_duration(59.6) == "1:00" and format_duration(3725) == "1:02:05"
