"""The headless front end: lines from events, numbers from the state model, worker text printed literally."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import textwrap

from tui.core import events as ev
from tui.core.state import RunState
from tui.frontends.format import (compute_label, format_duration, format_megabytes, format_ratio, format_seconds,
                                  provider_name, unit_label)
from tui.frontends.headless import HeadlessRenderer, format_summary

BRACKETED = "engine failed on [/tmp/voices/x.onnx] [bold]not bold[/bold]"


def _feed(view: HeadlessRenderer, state: RunState, events: list) -> None:
    for event in events:
        state.apply(event)
        view(event)


def _events(error: str = "b: 500 boom") -> list:
    return [
        ev.BookLoaded("Book", "A. Writer", "/x/book.m4b", (ev.ChapterInfo(0, "One", 40),)),
        ev.RunPlanned("s1", (ev.UnitPlan("c0000-u0000", 0, 100, 10.0), ev.UnitPlan("c0000-u0001", 0, 100, 10.0))),
        ev.RunStarted("Book", total_units=2, total_chapters=1, already_done=0, est_audio_seconds=20.0,
                      workers=("a", "b")),
        ev.UnitStarted(1, "c0000-u0000", 0, "a", 1),
        ev.UnitStarted(2, "c0000-u0001", 0, "b", 1),
        ev.UnitDone(1, "c0000-u0000", 0, "a", 10.0, 1.0, 100),
        ev.AttemptFailed(2, "c0000-u0001", 0, "b", error, quarantined=True),
        ev.WorkerStateChanged("b", "down", "host", "connection lost"),
        ev.ChapterDone(0, "One", 10.0),
    ]


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    state = RunState()
    view = HeadlessRenderer(state, out, interactive=False, log_interval=0.0)
    _feed(view, state, _events())
    text = out.getvalue()
    assert "Book: 1 chapters, 2 units" in text and "on 2 worker(s)" in text
    assert "progress: 1/2 units (50%)" in text
    assert "unit 1.2 failed on b: b: 500 boom (quarantined)" in text  # as the user counts: chapter 1, unit 2
    assert "worker b is down: connection lost" in text
    assert "chapter 1 done: One (0:10)" in text
    assert "\x1b[" not in text  # no terminal control codes in a log


def test_worker_text_with_brackets_and_escapes_is_printed_literally_in_plain_mode() -> None:
    out = io.StringIO()
    state = RunState()
    view = HeadlessRenderer(state, out, interactive=False, log_interval=0.0)
    _feed(view, state, _events(error=BRACKETED + "\x1b]0;owned\x07\x1b[2J"))
    text = out.getvalue()
    assert f"failed on b: {BRACKETED} (quarantined)" in text
    assert "\x1b" not in text and "owned" not in text


def test_worker_text_with_brackets_appears_verbatim_on_a_pty() -> None:
    """Through Rich on a real pseudo-terminal (markup would eat or choke on the brackets)."""
    code = textwrap.dedent(f"""
        import sys
        from tui.core import events as ev
        from tui.core.state import RunState
        from tui.frontends.headless import HeadlessRenderer
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_headless import _events, BRACKETED
        state = RunState()
        view = HeadlessRenderer(state, sys.stdout)
        assert view.interactive
        for e in _events(error=BRACKETED):
            state.apply(e)
            view(e)
        view.close()
    """)
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="200", TERM="xterm")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    raw = b"".join(chunks).decode("utf-8", "replace")
    import re

    plain = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", raw).replace("\r", "")
    assert proc.returncode == 0, plain[-2000:]
    assert f"failed on b: {BRACKETED}" in plain.replace("\n", ""), plain[-2000:]


def test_summary_reports_speed_workers_and_partial_result() -> None:
    result = ev.RunFinished(
        ok=False, outputs=("/x/book.m4b",), audio_seconds=3600.0, wall_seconds=240.0, units_total=100,
        units_synthesized=90, units_reused=8, quarantined=("c0003-u0001", "c0004-u0002"),
        per_worker={"gpu1/0": {"units": 60, "audio_seconds": 2400.0, "request_seconds": 150.0},
                    "gpu2/0": {"units": 30, "audio_seconds": 1200.0, "request_seconds": 150.0}},
        tail_seconds=1.5, error="2 unit(s) missing: c0003-u0001, c0004-u0002", outcome="partial",
        errors={"c0003-u0001": "gpu1/0: 500 [boom]"},
    )
    text = format_summary(result)
    assert text.startswith("Finished with problems: 1:00:00 of audio in 4:00 (15.0x real time)")
    assert "Units: 100 total, 90 synthesized, 8 reused, 2 quarantined" in text
    assert "gpu1/0: 60 units, 40:00 audio, 10.0x real time (request time 150 s)" in text
    assert "Wrote /x/book.m4b" in text
    assert "these units failed on every worker tried: 4.2, 5.3" in text
    assert "unit 4.2: gpu1/0: 500 [boom]" in text
    assert format_duration(59.6) == "1:00" and format_duration(3725) == "1:02:05"


def test_values_read_as_people_count_them() -> None:
    assert format_duration(None) == "--:--" and format_duration(-3) == "0:00"
    assert format_seconds(2.34) == "2.3 s" and format_seconds(45) == "45 s" and format_seconds(382.688) == "6:23"
    assert format_megabytes(512.4) == "512 MB" and format_megabytes(6144.0) == "6.0 GB"
    assert format_ratio(0.425) == "42%"
    assert unit_label("c0000-u0008") == "1.9" and unit_label("c0011-u0000") == "12.1"
    assert unit_label("intro") == "intro"  # an id of another shape is shown as it is


def test_onnx_providers_read_without_their_suffix() -> None:
    assert provider_name("CPUExecutionProvider") == "CPU"
    assert provider_name("CUDAExecutionProvider") == "CUDA"
    assert provider_name("TensorrtExecutionProvider") == "TensorRT"
    assert provider_name("DmlExecutionProvider") == "DirectML"
    assert provider_name("torch-cuda") == "torch-cuda"
    assert compute_label("cpu/CPUExecutionProvider") == "CPU"
    assert compute_label("cuda/TensorrtExecutionProvider") == "TensorRT"
    assert compute_label("cuda/torch-cuda") == "CUDA" and compute_label("cuda") == "CUDA"
    assert compute_label("") == ""


def test_the_headless_view_and_its_formats_need_no_textual() -> None:
    code = ("import sys; import tui.frontends.headless, tui.frontends.format; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'textual']")
    assert subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(__file__)),
                          timeout=60).returncode == 0
