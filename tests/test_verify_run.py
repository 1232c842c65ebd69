"""Verified audio end to end: a real worker (Piper + Whisper tiny.en) behind real HTTP, the real core.

The worker's engine misbehaves on purpose for two sentences (a seam we own: a
Piper subclass): one is babbled on its first take only and must be repaired by a
retake; the other is babbled on every take and must come out flagged, in the
journal, the state model, the summary and the flagged report with its time in
the book. A rerun reuses everything without speaking or hearing anything again.
"""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import httpx
import pytest

from remote_worker.app import create_app
from remote_worker.engines import PiperEngine
from remote_worker.protocol import TTSConfig
from remote_worker.verifying import build_verification
from tests.support.verify_models import unavailable
from tui.core.checks import CheckStatus, flagged_report_path
from tui.core.cluster import ClusterError
from tui.core.journal import session_dir_for
from tui.core.options import RunOptions
from tui.core.session import RunSession
from tui.core.static import StaticCluster
from tui.frontends.headless import format_summary

from tests.support.worker_helpers import serve_in_thread

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=f"no offline recogniser: {unavailable()}")

ONCE = "The keeper wound the brass clock every evening at seven."
ALWAYS = "Gulls circled the rocks while the tide went out."
BOOK = f"""CHAPTER ONE

The lighthouse stood on a small island far from the harbour. {ONCE} Yes.

CHAPTER TWO

In 1984 the lamp was changed for an electric one. {ALWAYS} Nobody came to see it.
"""


class MisbehavingPiper(PiperEngine):
    """Piper that babbles ONCE on its first take and ALWAYS on every take."""

    def __init__(self) -> None:
        super().__init__(threads=1)
        self.spoken: list[str] = []

    def synthesize(self, sentence: str, config: TTSConfig):
        self.spoken.append(sentence)
        if sentence == ALWAYS or (sentence == ONCE and self.spoken.count(ONCE) == 1):
            sentence = "Orange piano yesterday window seven bicycle mountain purple kitchen."
        return super().synthesize(sentence, config)


@pytest.fixture(scope="module")
def misbehaving_worker():
    engine = MisbehavingPiper()
    app = create_app(engine, verification=build_verification(True, None, device="cpu", threads=1))
    with serve_in_thread(app) as url:
        yield url, engine


async def _run(book: Path, output: Path, url: str, **options) -> tuple:
    session = RunSession(RunOptions(input=book, output=output, verify=True, **options),
                         StaticCluster(url.removeprefix("http://"), warn=None))
    return await session.run(), session


async def test_a_flagged_sentence_is_reported_and_a_repaired_one_passes(misbehaving_worker, tmp_path) -> None:
    url, engine = misbehaving_worker
    book = tmp_path / "keeper.txt"
    book.write_text(BOOK)
    output = tmp_path / "keeper.m4b"
    result, session = await _run(book, output, url)
    assert result.ok, result.error  # a flagged sentence does not make the book incomplete
    assert result.sentences_flagged == 1 and result.sentences_passed >= 6 and result.sentences_unverified == 0
    assert engine.spoken.count(ONCE) == 2  # babbled, heard, spoken again, heard as written
    assert engine.spoken.count(ALWAYS) == 3  # every take of the default three

    rows = _checks(output)
    assert [r for r in rows if r[1] == CheckStatus.FLAGGED][0][3] == 3  # takes
    assert any(r[1] == CheckStatus.PASSED and r[3] == 2 for r in rows)  # the repaired one

    state = session.state
    assert state.overall.sentences_flagged == 1 and state.chapters[1].flagged == 1 and state.chapters[0].flagged == 0
    flagged = state.flagged_sentences()
    assert [f.expected for f in flagged] == [ALWAYS] and flagged[0].chapter_index == 1
    assert flagged[0].book_seconds > state.chapters[0].audio_seconds  # placed in the second chapter

    report = Path(result.flagged_report)
    assert report == flagged_report_path(output) and report.is_file()
    table = list(csv.DictReader(report.open(), delimiter="\t"))
    assert [(t["chapter"], t["expected"], t["takes"]) for t in table] == [("2", ALWAYS, "3")]
    assert "orange" in table[0]["heard"].lower() or "piano" in table[0]["heard"].lower()
    hours, minutes, seconds = table[0]["book_time"].split(":")
    assert abs(int(hours) * 3600 + int(minutes) * 60 + float(seconds) - flagged[0].book_seconds) < 0.1
    async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
        status = (await http.get("/status")).json()
    assert status["retakes"] == 3 and status["verify_seconds"] > 0  # one for ONCE, two for ALWAYS
    assert status["verify_audio_seconds"] >= result.audio_seconds * 0.8
    summary = format_summary(result)
    assert "1 flagged" in summary and str(report) in summary

    before = len(engine.spoken)
    again, _ = await _run(book, output, url)
    assert again.units_synthesized == 0 and again.units_reused == result.units_total
    assert len(engine.spoken) == before  # nothing spoken or heard again
    assert (again.sentences_passed, again.sentences_flagged) == (result.sentences_passed, 1)


def _checks(output: Path) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(session_dir_for(output) / "journal.sqlite3") as db:
        return db.execute("SELECT content_hash, status, score, takes FROM checks ORDER BY content_hash").fetchall()


async def test_a_worker_that_cannot_verify_is_refused_with_its_reason(tmp_path) -> None:
    app = create_app(PiperEngine(threads=1), verification=build_verification(False, None))
    book = tmp_path / "b.txt"
    book.write_text("CHAPTER ONE\n\nA short line to speak.\n")
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
            health = (await http.get("/health")).json()
            assert health["verify"]["available"] is False and "--no-verify" in health["verify"]["reason"]
            answer = await http.post("/process_chapter", json={
                "chapter_id": "u", "sentences": ["Hello."], "tts_config": {"verify": True}})
            assert answer.status_code == 422 and "cannot verify" in answer.json()["detail"]
            schema = (await http.get("/openapi.json")).json()
            assert schema["components"]["schemas"]["TTSConfig"]["properties"]["verify"]["const"] is False
        with pytest.raises(ClusterError, match="cannot verify"):
            await _run(book, tmp_path / "b.m4b", url)


class BabblingPiper(PiperEngine):
    """Piper that babbles every take, noting each call, and says when the first retake begins."""

    def __init__(self, sentences: int) -> None:
        super().__init__(threads=1)
        self.first_takes = sentences
        self.calls: list[float] = []
        self.retaking = threading.Event()

    def synthesize(self, sentence: str, config: TTSConfig):
        self.calls.append(time.monotonic())
        if len(self.calls) > self.first_takes:
            self.retaking.set()
        return super().synthesize("Orange piano yesterday window seven bicycle mountain purple kitchen.", config)


def test_a_unit_cancelled_during_its_retakes_frees_the_worker_within_a_take() -> None:
    """POST /cancel while flagged sentences are being spoken again: the unit ends as cancelled (499) at the
    next take instead of running every take of every sentence."""
    sentences = [ONCE, ALWAYS, "Nobody came to see the lamp that night."]
    engine = BabblingPiper(len(sentences))
    app = create_app(engine, verification=build_verification(True, None, device="cpu", threads=1))
    answer: dict = {}
    with serve_in_thread(app) as url:
        def post() -> None:
            with httpx.Client(base_url=url, trust_env=False, timeout=300) as client:
                answer["status"] = client.post("/process_chapter", json={
                    "chapter_id": "retaking", "sentences": sentences,
                    "tts_config": {"verify": True, "verify_takes": 5}}).status_code

        thread = threading.Thread(target=post)
        thread.start()
        assert engine.retaking.wait(120), "the worker never spoke a retake"
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            assert client.post("/cancel/retaking").json() == {"cancelled": 1}
            cancelled_at, calls_then = time.monotonic(), len(engine.calls)
            thread.join(120)
            assert answer["status"] == 499
            status = client.get("/status").json()
    # at most the take in progress (and those of its batch) after the cancel, never all 5 takes of 3 sentences
    late = [t for t in engine.calls if t > cancelled_at]
    assert len(engine.calls) - calls_then <= 1 and len(late) <= 1, (len(engine.calls), calls_then)
    assert len(engine.calls) < len(sentences) * 5
    assert status["status"] == "idle"
