"""The worker client and the attempt runner through the transport seam.

Each answer a worker can give (status codes, transport errors, bad bodies) is
mapped once, in the client, to an error type; the attempt runner turns each
error type into one scheduler call, one ending event and one journal row. Both
are driven here with ``httpx.MockTransport`` and checked against the real
scheduler, journal and event bus. The end-to-end fault tests run the same paths
against real workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from pathlib import Path
from typing import Callable

import httpx
import numpy as np
import pytest
import soundfile

from remote_worker.protocol import TTSConfig
from tui.book.model import WorkUnit
from tui.core import events as ev
from tui.core.attempts import AttemptRunner
from tui.core.client import (
    SynthesisSettings,
    UnitFailed,
    UnitRejected,
    VoiceError,
    WorkerAuthError,
    WorkerBusy,
    WorkerClient,
    WorkerUnreachable,
)
from tui.core.cluster import WorkerEndpoint
from tui.core.control import RunControl
from tui.core.journal import Journal
from tui.core.journal_io import JournalIO
from tui.core.options import RunOptions
from tui.core.scheduler import Scheduler, SchedulerConfig, UnitInfo, UnitState, WorkerState
from tui.core.stats import RunStats
from tui.core.tasks import TaskGroup
from tui.core.workers import WorkerPool

Handler = Callable[[httpx.Request], httpx.Response]

UNIT = WorkUnit(id="c0000-u0000", chapter_index=0, index=0, sentences=("Hello there.", "Goodbye."),
                paragraph_starts=(0,), content_hash="h" * 64, chars=20, est_seconds=2.0)
SETTINGS = SynthesisSettings(tts=TTSConfig(model_name="piper"))


def _flac(seconds: float = 0.5, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.1 * np.sin(np.arange(int(rate * seconds)) * 0.05)).astype(np.float32), rate,
                    format="FLAC")
    return buffer.getvalue()


def _ok_handler(audio: bytes) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/process_chapter":
            return httpx.Response(200, json={
                "chapter_id": UNIT.id, "audio_url": "http://worker.invalid/download/abc", "duration": 0.5,
                "num_sentences": 2, "format": "flac", "sha256": hashlib.sha256(audio).hexdigest(),
                "sentence_timings": [{"start": 0.0, "end": 0.2}, {"start": 0.25, "end": 0.5}]})
        if request.url.path == "/download/abc":
            return httpx.Response(200, content=audio)
        return httpx.Response(404)
    return handle


def _client(handler: Handler, name: str = "w1") -> WorkerClient:
    return WorkerClient(WorkerEndpoint(name, "http://w1.test"), transport=httpx.MockTransport(handler))


def _status(code: int, body: object = None) -> Handler:
    return lambda request: httpx.Response(code, json=body if body is not None else {"detail": f"answer {code}"})


def _raise(exc: type[httpx.HTTPError]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=request)
    return handle


# ---------------------------------------------------------------------------- the client


@pytest.mark.parametrize("handler, error", [
    (_status(503), WorkerBusy),
    (_status(401), WorkerAuthError),
    (_status(403), WorkerAuthError),
    (_status(422), UnitRejected),
    (_status(400), UnitRejected),
    (_status(500), UnitFailed),
    (_status(502), UnitFailed),
    (_raise(httpx.ConnectError), WorkerUnreachable),
    (_raise(httpx.ReadError), WorkerUnreachable),
    (_raise(httpx.RemoteProtocolError), WorkerUnreachable),
    (_raise(httpx.ReadTimeout), UnitFailed),  # slow is not gone
    (_raise(httpx.WriteTimeout), UnitFailed),
    (lambda request: httpx.Response(200, content=b"not json"), UnitFailed),
    (_status(200, {"chapter_id": "x"}), UnitFailed),  # not the response's shape
    (_status(200, {"chapter_id": "x", "duration": 1.0, "num_sentences": 1}), UnitFailed),  # no audio
], ids=lambda v: getattr(v, "__name__", ""))
async def test_each_answer_is_one_error_type(handler: Handler, error: type) -> None:
    client = _client(handler)
    try:
        with pytest.raises(error) as caught:
            await client.synthesize(UNIT, SETTINGS, attempt_id=7)
    finally:
        await client.aclose()
    assert str(caught.value).startswith("w1:") and "\n" not in str(caught.value)


async def test_a_good_answer_brings_the_audio_by_its_path_with_the_attempt_header() -> None:
    audio = _flac()
    seen: list[httpx.Request] = []
    handler = _ok_handler(audio)

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = WorkerClient(WorkerEndpoint("w1", "http://127.0.0.1:1", token="tok"),
                          transport=httpx.MockTransport(record))
    try:
        result = await client.synthesize(UNIT, SETTINGS, attempt_id=7)
    finally:
        await client.aclose()
    assert result.audio == audio
    assert [r.url.path for r in seen] == ["/process_chapter", "/download/abc"]
    assert seen[0].headers["x-e2a-attempt"] == "7" and seen[0].headers["authorization"] == "Bearer tok"
    assert seen[1].url.host == "127.0.0.1"  # our base URL, not the address the worker named
    body = json.loads(seen[0].content)
    assert body["sentences"] == list(UNIT.sentences) and body["response_mode"] == "url"


async def test_the_endpoint_may_bring_its_own_transport() -> None:
    audio = _flac()
    endpoint = WorkerEndpoint("actor-1", "http://actor-1", transport=lambda: httpx.MockTransport(_ok_handler(audio)))
    client = WorkerClient(endpoint)
    try:
        assert (await client.synthesize(UNIT, SETTINGS)).audio == audio
    finally:
        await client.aclose()


async def test_download_errors_map_like_requests() -> None:
    audio = _flac()
    ok = _ok_handler(audio)

    def gone_on_download(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/download"):
            return httpx.Response(404)
        return ok(request)

    client = _client(gone_on_download)
    try:
        with pytest.raises(UnitFailed, match="download answered 404"):
            await client.synthesize(UNIT, SETTINGS)
    finally:
        await client.aclose()


@pytest.mark.parametrize("handler, error", [
    (_status(401), WorkerAuthError),
    (_status(500), VoiceError),
    (_raise(httpx.ConnectError), WorkerUnreachable),
    (_raise(httpx.ReadTimeout), UnitFailed),  # a slow voice check does not lose a healthy worker
], ids=["401", "500", "connect", "timeout"])
async def test_voice_calls_share_the_mapping(handler: Handler, error: type) -> None:
    client = _client(handler)
    try:
        with pytest.raises(error):
            await client.has_voice("a" * 64)
    finally:
        await client.aclose()


async def test_voice_presence_and_refusal() -> None:
    stored: dict[str, bytes] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        sha = request.url.path.rsplit("/", 1)[1]
        if request.method == "GET":
            return httpx.Response(200 if sha in stored else 404, json={})
        if request.content.startswith(b"RIFF"):
            stored[sha] = request.content
            return httpx.Response(201, json={})
        return httpx.Response(415, json={"detail": "not an audio file"})

    client = _client(handle)
    try:
        assert await client.has_voice("b" * 64) is False
        await client.put_voice("b" * 64, b"RIFF....", "voice.wav")
        assert await client.has_voice("b" * 64) is True
        with pytest.raises(VoiceError, match="w1 refused voice sample junk.wav: not an audio file"):
            await client.put_voice("c" * 64, b"junk", "junk.wav")
    finally:
        await client.aclose()


async def test_health_and_status_refused_tokens_and_errors() -> None:
    for handler, error in ((_status(401), WorkerAuthError), (_status(500), UnitFailed),
                           (_raise(httpx.ConnectError), WorkerUnreachable)):
        client = _client(handler)
        try:
            with pytest.raises(error):
                await client.status()
        finally:
            await client.aclose()
    client = _client(_raise(httpx.ConnectError))
    try:
        assert await client.cancel("u", 3) is False  # best effort: never raises
    finally:
        await client.aclose()


# ---------------------------------------------------------------------------- the attempt runner


class _Rig:
    """A real scheduler, journal and bus around one attempt on mock workers."""

    def __init__(self, tmp: Path, handlers: dict[str, Handler]) -> None:
        self.events: list[ev.Event] = []
        self.sched = Scheduler([UnitInfo(UNIT.id, 0, 0, UNIT.est_seconds)],
                               SchedulerConfig(max_failures_per_unit=3, backoff_base=0.01, backoff_max=0.02, jitter=0.0))
        self.session_dir = tmp
        self.journal_db = Journal(tmp)
        self.journal_db.sync_units([UNIT])
        self.journal = JournalIO(self.journal_db)
        self.control = RunControl(tmp)
        self.tasks = TaskGroup()
        self.pool = WorkerPool(RunOptions(input=tmp / "b.txt", output=tmp / "b.m4b"), self.sched,
                               self.events.append, self.control, self.tasks)
        for name, handler in handlers.items():
            self.pool.endpoints[name] = WorkerEndpoint(name, f"http://{name}.test")
            self.pool.clients[name] = _client(handler, name)
            self.sched.add_worker(name)
        self.stored: list[str] = []
        self.runner = AttemptRunner(self.sched, self.journal, self.pool, self.events.append, RunStats(),
                                    self.control, self.tasks, settings_for=lambda unit: SETTINGS,
                                    on_stored=lambda unit, audio: self.stored.append(unit.id))
        self.pool.on_events(lose=self.runner.worker_lost, probe_failed=lambda w: None, probe_ok=lambda w: None)

    async def attempt(self, worker: str) -> ev.Event:
        now = asyncio.get_running_loop().time()
        assignment = self.sched.next_assignment(worker, now)
        assert assignment is not None
        self.runner.start(assignment, UNIT)
        await self.runner.wait_all()
        await self.tasks.aclose()
        return next(e for e in reversed(self.events) if isinstance(e, ev.ATTEMPT_ENDINGS))

    def journal_statuses(self) -> list[str]:
        """The attempt rows as written (after the journal thread has finished its queue)."""
        self.journal.close()
        return [row["status"] for row in Journal(self.session_dir).attempts()]

    async def close(self) -> None:
        await self.pool.aclose()


@pytest.fixture
def rig_factory(tmp_path: Path) -> Callable[..., _Rig]:
    return lambda **handlers: _Rig(tmp_path / "session", handlers)


async def test_success_stores_the_audio_and_ends_done(rig_factory) -> None:
    rig = rig_factory(w1=_ok_handler(_flac()))
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.UnitDone) and ending.unit_id == UNIT.id
    assert rig.sched.unit_state(UNIT.id) is UnitState.DONE and rig.stored == [UNIT.id]
    await rig.close()
    assert rig.journal_statuses() == ["done"]


async def test_busy_puts_the_unit_back_without_counting_a_failure(rig_factory) -> None:
    rig = rig_factory(w1=_status(503))
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.AttemptBusy)
    assert rig.sched.unit_state(UNIT.id) is not UnitState.QUARANTINED
    assert rig.sched.unit_error(UNIT.id) in (None, "")
    assert rig.sched.worker_state("w1") is WorkerState.UP
    await rig.close()
    assert rig.journal_statuses() == ["busy"]


async def test_unreachable_loses_the_worker_and_requeues_at_once(rig_factory) -> None:
    rig = rig_factory(w1=_raise(httpx.ConnectError))
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.AttemptLost)
    assert rig.sched.worker_state("w1") is WorkerState.DOWN
    assert rig.sched.unit_state(UNIT.id) is UnitState.PENDING
    assert any(isinstance(e, ev.WorkerStateChanged) and e.state == "down" for e in rig.events)
    await rig.close()
    assert rig.journal_statuses() == ["lost"]


async def test_a_timeout_is_a_failure_on_that_worker_not_a_lost_worker(rig_factory) -> None:
    rig = rig_factory(w1=_raise(httpx.ReadTimeout))
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.AttemptFailed) and not ending.quarantined
    assert rig.sched.worker_state("w1") is WorkerState.UP
    assert rig.sched.unit_state(UNIT.id) is UnitState.FAILED_WAIT
    assert "ReadTimeout" in (rig.sched.unit_error(UNIT.id) or "")
    await rig.close()
    assert rig.journal_statuses() == ["failed"]


async def test_a_refused_token_leaves_the_worker_out_and_requeues(rig_factory) -> None:
    rig = rig_factory(w1=_status(401), w2=_ok_handler(_flac()))
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.AttemptFailed)
    assert "w1" in rig.pool.excluded and rig.sched.worker_state("w1") is WorkerState.DOWN
    assert rig.sched.unit_state(UNIT.id) is UnitState.PENDING
    assert isinstance(await rig.attempt("w2"), ev.UnitDone)
    await rig.close()
    assert rig.journal_statuses() == ["failed", "done"]


async def test_a_rejected_request_is_not_the_workers_fault(rig_factory) -> None:
    rig = rig_factory(w1=_status(422))
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.AttemptFailed)
    assert rig.sched.worker_state("w1") is WorkerState.UP
    assert "422" in (rig.sched.unit_error(UNIT.id) or "")
    await rig.close()


async def test_repeated_failures_quarantine_the_unit(rig_factory) -> None:
    rig = rig_factory(w1=_status(500), w2=_status(500), w3=_status(500))
    endings = []
    for worker in ("w1", "w2", "w3"):
        await asyncio.sleep(0.05)  # past the back-off
        endings.append(await rig.attempt(worker))
    assert all(isinstance(e, ev.AttemptFailed) for e in endings)
    assert endings[-1].quarantined and rig.sched.unit_state(UNIT.id) is UnitState.QUARANTINED
    await rig.close()
    assert rig.journal_statuses() == ["failed", "failed", "failed"]


async def test_audio_that_is_not_what_the_worker_said_fails_the_attempt(rig_factory) -> None:
    good = _flac()
    handler = _ok_handler(good)

    def corrupt(request: httpx.Request) -> httpx.Response:
        resp = handler(request)
        if request.url.path.startswith("/download"):
            return httpx.Response(200, content=good[: len(good) // 2])
        return resp

    rig = rig_factory(w1=corrupt)
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.AttemptFailed) and "corrupt" in ending.error
    assert rig.stored == []
    await rig.close()


async def test_our_own_disk_failing_stops_the_run_naming_the_session_folder(rig_factory) -> None:
    rig = rig_factory(w1=_ok_handler(_flac()))
    audio_dir = rig.journal_db.audio_dir
    audio_dir.rmdir()
    audio_dir.write_bytes(b"")  # not a folder any more: writing a unit's audio fails with an OSError
    ending = await rig.attempt("w1")
    assert isinstance(ending, ev.AttemptFailed) and ending.error.startswith("not stored")
    assert rig.control.fatal.startswith("cannot keep audio") and str(rig.session_dir) in rig.control.fatal
    assert rig.sched.unit_state(UNIT.id) is UnitState.PENDING and rig.stored == []
    await rig.close()
