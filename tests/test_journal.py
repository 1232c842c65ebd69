"""The journal keeps verified audio by content hash and records every attempt."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
import soundfile

from tui.book.model import WorkUnit
from tui.core.journal import Journal, JournalError, session_dir_for


def _unit(uid: str, text: str, content_hash: str) -> WorkUnit:
    return WorkUnit(uid, 0, int(uid[-1]), (text,), (0,), content_hash, len(text), len(text) / 15)


def _flac(seconds: float, rate: int = 22050) -> bytes:
    buf = io.BytesIO()
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype("float32"), rate, format="FLAC")
    return buf.getvalue()


def test_session_dir_sits_next_to_output(tmp_path) -> None:
    assert session_dir_for(tmp_path / "book.m4b") == tmp_path / "book.m4b.e2a"


def test_store_verify_and_reopen(tmp_path) -> None:
    journal = Journal(tmp_path / "s")
    unit = _unit("c0000-u0001", "Hello there.", "h1")
    data = _flac(1.5)
    row = journal.attempt_started(unit, "w1")
    stored = journal.store_audio(unit, data, sha256=hashlib.sha256(data).hexdigest(), fmt="flac", worker="w1",
                                 timings=[(0.0, 1.2)])
    journal.attempt_ended(row, "done")
    assert stored.num_samples == int(1.5 * 22050)
    assert stored.duration == pytest.approx(1.5, abs=1e-3)
    assert stored.sentences == [("Hello there.", 0.0, 1.2)]
    assert stored.path.read_bytes() == data
    journal.close()

    again = Journal(tmp_path / "s")
    found = again.verified_audio("h1")
    assert found is not None and found.sha256 == hashlib.sha256(data).hexdigest()
    assert [a["status"] for a in again.attempts()] == ["done"]
    # no temp files left behind
    assert sorted(p.name for p in again.audio_dir.iterdir()) == ["h1.flac"]


def test_attempt_left_running_by_a_dead_run_is_abandoned(tmp_path) -> None:
    journal = Journal(tmp_path / "s")
    journal.attempt_started(_unit("c0000-u0001", "Hi.", "h1"), "w1")
    journal.close()  # the process "dies" without ending the attempt
    again = Journal(tmp_path / "s")
    assert [a["status"] for a in again.attempts()] == ["abandoned"]


def test_corrupt_or_undecodable_audio_is_refused(tmp_path) -> None:
    journal = Journal(tmp_path / "s")
    unit = _unit("c0000-u0001", "Hello.", "h1")
    data = _flac(0.5)
    with pytest.raises(JournalError, match="corrupt"):
        journal.store_audio(unit, data, sha256="0" * 64, fmt="flac", worker="w", timings=[])
    junk = b"not audio at all" * 10
    with pytest.raises(JournalError, match="does not decode"):
        journal.store_audio(unit, junk, sha256=hashlib.sha256(junk).hexdigest(), fmt="flac", worker="w", timings=[])
    assert journal.stored_audio("h1") is None
    assert list(journal.audio_dir.iterdir()) == []


def test_tampered_file_is_not_reused(tmp_path) -> None:
    journal = Journal(tmp_path / "s")
    unit = _unit("c0000-u0001", "Hello.", "h1")
    data = _flac(0.5)
    stored = journal.store_audio(unit, data, sha256="", fmt="flac", worker="w", timings=[])
    stored.path.write_bytes(data[:-10] + b"0123456789")
    assert journal.verified_audio("h1") is None


def test_sync_units_marks_reusable_units_done(tmp_path) -> None:
    journal = Journal(tmp_path / "s")
    a, b = _unit("c0000-u0001", "One.", "ha"), _unit("c0000-u0002", "Two.", "hb")
    journal.store_audio(a, _flac(0.3), sha256="", fmt="flac", worker="w", timings=[])
    journal.sync_units([a, b])
    assert journal.unit_states() == {"c0000-u0001": "done", "c0000-u0002": "pending"}


def test_second_run_on_the_same_session_is_refused(tmp_path) -> None:
    first = Journal(tmp_path / "s")
    with pytest.raises(JournalError, match="another e2a-tui run"):
        Journal(tmp_path / "s")
    first.close()
    Journal(tmp_path / "s").close()  # free again once the first run ends


def test_unit_goes_back_to_pending_after_a_failed_attempt(tmp_path) -> None:
    journal = Journal(tmp_path / "s")
    unit = _unit("c0000-u0001", "One.", "ha")
    journal.sync_units([unit])
    row = journal.attempt_started(unit, "w1")
    assert journal.unit_states() == {"c0000-u0001": "running"}
    journal.attempt_ended(row, "failed", "boom")
    assert journal.unit_states() == {"c0000-u0001": "pending"}
