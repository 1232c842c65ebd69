"""A verified run survives the orchestrator's death: real local workers (Piper + Whisper tiny.en), a real
SIGKILL, a rerun. Nothing that was spoken and heard before the kill is spoken or heard again, and the checks
the first run stored are the ones the finished book reports."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tui.core.journal import session_dir_for

from tests.support.processes import alive_with, child_pids
from tests.support.verify_models import unavailable

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(unavailable() is not None, reason=f"no offline recogniser: {unavailable()}")]


def _checked(db: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Stored checks of every unit whose audio is kept, by content hash."""
    out: dict[str, list[tuple]] = {}
    rows = db.execute("SELECT c.content_hash, c.sentence_index, c.status, c.score, c.takes, c.heard FROM checks c"
                      " JOIN audio a ON a.content_hash = c.content_hash ORDER BY c.content_hash, c.sentence_index")
    for content_hash, *rest in rows:
        out.setdefault(content_hash, []).append(tuple(rest))
    return out


def test_orchestrator_killed_during_a_verified_run_resumes_without_speaking_or_hearing_again(
        tmp_path: Path, sample_epub: Path) -> None:
    output = tmp_path / "verified.m4b"
    cmd = [sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o", str(output), "--local-workers", "2",
           "--unit-chars", "200", "--verify"]
    journal = session_dir_for(output) / "journal.sqlite3"
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before: dict[str, list[tuple]] = {}
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and first.poll() is None:
        if journal.exists():
            try:
                with sqlite3.connect(journal) as db:
                    before = _checked(db)
            except sqlite3.OperationalError:
                before = {}
            if len(before) >= 3:
                break
        time.sleep(0.1)
    workers = child_pids(first.pid)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, "the first run ended before it could be killed"
    assert len(before) >= 3, "the first run never stored three checked units"
    with sqlite3.connect(journal) as db:
        before = _checked(db)  # units finished between the last look and the kill count too
        total_units = db.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    assert len(before) < total_units, "the kill came after the last unit"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and alive_with(workers, "remote_worker"):
        time.sleep(0.1)

    second = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    with sqlite3.connect(journal) as db:
        after = _checked(db)
        done = Counter(h for (h,) in db.execute("SELECT content_hash FROM attempts WHERE status='done'"))
        again = db.execute("SELECT COUNT(*) FROM attempts WHERE run_id = 2 AND content_hash IN "
                           "(SELECT content_hash FROM attempts WHERE run_id = 1 AND status = 'done')").fetchone()[0]
        sentences = {h: len(json.loads(t)) for h, t in
                     db.execute("SELECT content_hash, timings FROM audio")}
    assert max(done.values()) == 1, "a unit was spoken (and heard) twice"
    assert again == 0, "the rerun sent a unit the first run had finished"
    assert {h: after[h] for h in before} == before, "a check stored before the kill was made again"
    assert len(after) == total_units and all(len(after[h]) == sentences[h] for h in after), \
        "every sentence of every unit has its check"
    passed = sum(1 for rows in after.values() for row in rows if row[1] == "passed")
    flagged = sum(1 for rows in after.values() for row in rows if row[1] == "flagged")
    assert passed > 0 and "reused" in second.stdout
    expected = f"Verified: {passed} of {passed + flagged} sentences heard as written"
    assert expected in second.stdout, second.stdout[-2000:]
