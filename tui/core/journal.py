"""The run journal: one SQLite file per output, so no finished work is ever lost.

Audio is keyed by each unit's content hash (text + voice + engine settings):
a rerun reuses every unit whose hash has verified audio on disk, and redoes
only what changed. Every attempt is recorded, so "was anything synthesised
twice?" is a query, not a guess.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import soundfile

from ..book.model import WorkUnit
from ..hashing import file_sha256
from .checks import CheckStatus, SentenceCheck
from .scheduler import UnitState

__all__ = ["Journal", "StoredAudio", "JournalError", "session_dir_for"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    unit_id TEXT PRIMARY KEY,
    chapter_index INTEGER NOT NULL,
    unit_index INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    chars INTEGER NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    attempt_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    unit_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    worker TEXT NOT NULL,
    speculative INTEGER NOT NULL DEFAULT 0,
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL DEFAULT 'running',
    error TEXT
);
CREATE TABLE IF NOT EXISTS audio (
    content_hash TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    duration REAL NOT NULL,
    num_samples INTEGER NOT NULL,
    sample_rate INTEGER NOT NULL,
    timings TEXT NOT NULL,
    worker TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checks (
    content_hash TEXT NOT NULL,
    sentence_index INTEGER NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    takes INTEGER NOT NULL,
    problem TEXT NOT NULL,
    heard TEXT NOT NULL,
    PRIMARY KEY (content_hash, sentence_index)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    ended REAL,
    outcome TEXT
);
"""


class JournalError(Exception):
    """The journal or a stored audio file is unusable; one-line message."""


@dataclass(frozen=True)
class StoredAudio:
    content_hash: str
    unit_id: str
    path: Path
    sha256: str
    duration: float
    num_samples: int
    sample_rate: int
    sentences: list[tuple[str, float, float]]
    worker: str
    #: what verification said of each sentence (empty when the unit was not verified)
    checks: tuple[SentenceCheck, ...] = ()


def session_dir_for(output: Path) -> Path:
    """The session folder that sits next to the output: ``book.m4b`` → ``book.m4b.e2a/``."""
    return output.with_name(output.name + ".e2a")


class Journal:
    """SQLite journal plus the verified audio files of a session folder."""

    def __init__(self, session_dir: Path) -> None:
        self.dir = Path(session_dir)
        self.audio_dir = self.dir / "audio"
        self.audio_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "journal.sqlite3"
        self._lock = _take_lock(self.dir / "lock")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            # attempts left 'running' by a run that died are closed out, never counted as done
            self._db.execute(
                "UPDATE attempts SET status='abandoned', ended=? WHERE status='running'", (time.time(),)
            )
            self._db.execute("UPDATE units SET state=? WHERE state=?", (UnitState.PENDING, UnitState.RUNNING))
            self.run_id = self._db.execute("INSERT INTO runs(started) VALUES (?)", (time.time(),)).lastrowid
        except sqlite3.Error as exc:
            self._lock.close()
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None

    # -- metadata -----------------------------------------------------------------
    def get_meta(self, key: str) -> Optional[str]:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def record_settings(self, fingerprint: str, settings: dict) -> None:
        self.set_meta("book_fingerprint", fingerprint)
        self.set_meta("settings", json.dumps(settings, sort_keys=True))

    # -- units --------------------------------------------------------------------
    def sync_units(self, units: Sequence[WorkUnit]) -> None:
        """Make the units table describe this run's units (stale rows from an older text go)."""
        now = time.time()
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM units")
            self._db.executemany(
                "INSERT INTO units(unit_id, chapter_index, unit_index, content_hash, chars, text, state, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (u.id, u.chapter_index, u.index, u.content_hash, u.chars, " ".join(u.sentences),
                     UnitState.DONE if self.has_audio(u.content_hash) else UnitState.PENDING, now)
                    for u in units
                ],
            )

    def set_unit_state(self, unit_id: str, state: UnitState, error: Optional[str] = None) -> None:
        self._db.execute(
            "UPDATE units SET state=?, error=?, updated=? WHERE unit_id=?", (state, error, time.time(), unit_id)
        )

    def unit_states(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT unit_id, state FROM units"))

    # -- attempts -----------------------------------------------------------------
    def attempt_started(self, unit: WorkUnit, worker: str, *, speculative: bool = False) -> int:
        cur = self._db.execute(
            "INSERT INTO attempts(run_id, unit_id, content_hash, worker, speculative, started) VALUES (?,?,?,?,?,?)",
            (self.run_id, unit.id, unit.content_hash, worker, int(speculative), time.time()),
        )
        self._db.execute("UPDATE units SET state=?, updated=? WHERE unit_id=?", (UnitState.RUNNING, time.time(), unit.id))
        return int(cur.lastrowid)

    def attempt_ended(self, attempt_row: int, status: str, error: Optional[str] = None) -> None:
        """status: done, failed, cancelled, discarded (a speculative copy that lost), lost, busy."""
        self._db.execute(
            "UPDATE attempts SET status=?, error=?, ended=? WHERE attempt_id=?",
            (status, error, time.time(), attempt_row),
        )
        if status != "done":  # the unit waits for its next attempt (unless another copy finished it)
            self._db.execute(
                "UPDATE units SET state=?, updated=? WHERE state=? AND unit_id="
                "(SELECT unit_id FROM attempts WHERE attempt_id=?)",
                (UnitState.PENDING, time.time(), UnitState.RUNNING, attempt_row),
            )

    def attempts(self) -> list[dict]:
        cur = self._db.execute("SELECT * FROM attempts ORDER BY attempt_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    # -- audio --------------------------------------------------------------------
    def has_audio(self, content_hash: str) -> bool:
        return self.stored_audio(content_hash) is not None

    def stored_audio(self, content_hash: str) -> Optional[StoredAudio]:
        row = self._db.execute(
            "SELECT content_hash, unit_id, file, sha256, duration, num_samples, sample_rate, timings, worker"
            " FROM audio WHERE content_hash=?",
            (content_hash,),
        ).fetchone()
        if row is None:
            return None
        path = self.audio_dir / row[2]
        if not path.is_file():
            self._db.execute("DELETE FROM audio WHERE content_hash=?", (content_hash,))
            return None
        return StoredAudio(row[0], row[1], path, row[3], row[4], row[5], row[6],
                           [tuple(t) for t in json.loads(row[7])], row[8], self._checks(content_hash))

    def _checks(self, content_hash: str) -> tuple[SentenceCheck, ...]:
        rows = self._db.execute(
            "SELECT sentence_index, status, score, takes, problem, heard FROM checks WHERE content_hash=?"
            " ORDER BY sentence_index", (content_hash,)).fetchall()
        return tuple(SentenceCheck(r[0], CheckStatus(r[1]), r[2], r[3], r[4], r[5]) for r in rows)

    def verified_audio(self, content_hash: str) -> Optional[StoredAudio]:
        """Stored audio whose file still hashes to what was recorded (else it is dropped)."""
        stored = self.stored_audio(content_hash)
        if stored is None:
            return None
        if file_sha256(stored.path) != stored.sha256:
            self._db.execute("DELETE FROM audio WHERE content_hash=?", (content_hash,))
            return None
        return stored

    def store_audio(
        self,
        unit: WorkUnit,
        data: bytes,
        *,
        sha256: str,
        fmt: str,
        worker: str,
        timings: Iterable[tuple[float, float]],
        checks: Sequence[SentenceCheck] = (),
    ) -> StoredAudio:
        """Verify and keep a unit's audio: hash, decodability, then temp file + rename, then the row.

        Raises :class:`JournalError` when the bytes are not what the worker said.
        """
        actual = hashlib.sha256(data).hexdigest()
        if sha256 and actual != sha256:
            raise JournalError(f"audio for {unit.id} is corrupt (sha256 {actual[:12]} != {sha256[:12]})")
        name = f"{unit.content_hash}.{fmt}"
        final = self.audio_dir / name
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=self.audio_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                info = soundfile.info(tmp)
            except Exception as exc:  # noqa: BLE001 - any decoder complaint means bad audio
                raise JournalError(f"audio for {unit.id} does not decode: {exc}") from None
            if info.frames <= 0 and any(s.strip() for s in unit.sentences):
                raise JournalError(f"audio for {unit.id} is empty")
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        sentences = [(text, float(a), float(b)) for text, (a, b) in zip(unit.sentences, timings)]
        duration = info.frames / info.samplerate
        self._db.execute(
            "INSERT OR REPLACE INTO audio(content_hash, unit_id, file, sha256, duration, num_samples, sample_rate,"
            " timings, worker, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (unit.content_hash, unit.id, name, actual, duration, info.frames, info.samplerate,
             json.dumps(sentences), worker, time.time()),
        )
        self._db.execute("DELETE FROM checks WHERE content_hash=?", (unit.content_hash,))
        self._db.executemany(
            "INSERT INTO checks(content_hash, sentence_index, status, score, takes, problem, heard)"
            " VALUES (?,?,?,?,?,?,?)",
            [(unit.content_hash, c.index, c.status, c.score, c.takes, c.problem, c.heard) for c in checks])
        self.set_unit_state(unit.id, UnitState.DONE)
        return StoredAudio(unit.content_hash, unit.id, final, actual, duration, info.frames, info.samplerate,
                           sentences, worker, tuple(checks))

    # -- lifecycle ----------------------------------------------------------------
    def finish_run(self, outcome: str) -> None:
        self._db.execute("UPDATE runs SET ended=?, outcome=? WHERE run_id=?", (time.time(), outcome, self.run_id))

    def close(self) -> None:
        self._db.close()
        self._lock.close()


def _take_lock(path: Path):
    """One run per session folder: a second run on the same output would redo and overwrite the first's work."""
    import fcntl

    fh = open(path, "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise JournalError(f"another e2a-tui run is using {path.parent} (same output file)") from None
    return fh
