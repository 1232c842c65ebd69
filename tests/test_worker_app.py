"""``create_app`` as the orchestrator embeds it: real uvicorn in a thread, real Piper underneath.

Engine failures are provoked through the engine interface (a seam the project
owns): a Piper engine that refuses one marked sentence and speaks the rest.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.support.worker_helpers import SEED_REQUEST, decode_base64_audio, http_client, serve_in_thread
from remote_worker.app import create_app
from remote_worker.workdir import TEMP_PREFIX
from remote_worker.engines import EngineError, PiperEngine, get_engine
from remote_worker.protocol import TTSConfig


class RefusingPiper(PiperEngine):
    """Real Piper, except for sentences that name a failure."""

    def synthesize(self, sentence: str, config: TTSConfig) -> np.ndarray:
        if sentence == "ENGINE-ERROR":
            raise EngineError("voice cannot say that")
        if sentence == "CRASH":
            raise RuntimeError("unexpected state")
        if sentence == "ESCAPES":
            raise RuntimeError("bad \x1b[2J\x1b]0;owned\x07 text\r\nsecond\x9b31m line\u2028end")
        return super().synthesize(sentence, config)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    temp_parent = tmp_path_factory.mktemp("worker-temp")
    engine = RefusingPiper(threads=1)
    app = create_app(engine, token="t0ken", download_ttl=1.0, temp_parent=str(temp_parent))
    with serve_in_thread(app) as base_url:
        with http_client(base_url, token="t0ken") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client, temp_parent, engine
    assert not list(temp_parent.iterdir()), "temporary folder left behind after shutdown"


def test_engine_is_loaded_by_the_lifespan_and_a_private_temp_dir_exists(served):
    client, temp_parent, engine = served
    assert engine.loaded
    folders = [p.name for p in temp_parent.iterdir()]
    assert len(folders) == 1 and folders[0].startswith(TEMP_PREFIX)
    assert client.get("/health").json()["model_loaded"] is True


def test_engine_error_is_500_with_json_detail(served):
    client, _, _ = served
    r = client.post("/process_chapter", json={"chapter_id": 1, "sentences": ["Fine.", "ENGINE-ERROR"]})
    assert r.status_code == 500
    assert r.json() == {"detail": "engine piper failed: voice cannot say that"}


def test_engine_error_detail_carries_no_control_characters(served):
    """The detail is shown on the orchestrator's terminal: no escape sequences, no line breaks."""
    client, _, _ = served
    r = client.post("/process_chapter", json={"chapter_id": 1, "sentences": ["ESCAPES"]})
    assert r.status_code == 500
    detail = r.json()["detail"]
    assert detail == "synthesis failed: RuntimeError: bad [2J ]0;owned text second 31m line end"
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in detail)


def test_unexpected_engine_exception_is_500_and_the_worker_carries_on(served):
    client, _, _ = served
    failed_before = client.get("/status").json()["units_failed"]
    r = client.post("/process_chapter", json={"chapter_id": 2, "sentences": ["CRASH"]})
    assert r.status_code == 500
    assert r.json()["detail"] == "synthesis failed: RuntimeError: unexpected state"
    status = client.get("/status").json()
    assert status["units_failed"] == failed_before + 1 and status["status"] == "idle" and status["queued"] == 0
    ok = client.post("/process_chapter", json=SEED_REQUEST)
    assert ok.status_code == 200
    samples, rate = decode_base64_audio(ok.json()["audio_base64"])
    assert len(samples) / rate == pytest.approx(ok.json()["duration"], rel=0.01)


def test_downloads_expire_after_their_ttl(served):
    client, temp_parent, _ = served
    body = client.post("/process_chapter", json={**SEED_REQUEST, "response_mode": "url"}).json()
    assert client.get(body["audio_url"]).status_code == 200
    (work_dir,) = temp_parent.iterdir()
    assert any(p.suffix == ".flac" for p in work_dir.iterdir())
    time.sleep(1.2)
    assert client.get(body["audio_url"]).status_code == 404
    assert not any(p.suffix == ".flac" for p in work_dir.iterdir())


def test_two_apps_in_one_process_keep_separate_metrics(served):
    from prometheus_client import REGISTRY

    client, _, _ = served
    assert client.post("/process_chapter", json={"chapter_id": 3, "sentences": ["CRASH"]}).status_code == 500
    other = create_app(get_engine("piper", threads=1))
    mine = client.app.state.worker.metrics.registry
    theirs = other.state.worker.metrics.registry
    assert mine is not theirs and REGISTRY not in (mine, theirs)
    assert mine.get_sample_value("e2a_worker_units_total", {"outcome": "failed"}) >= 1
    assert theirs.get_sample_value("e2a_worker_units_total", {"outcome": "failed"}) == 0.0
    assert REGISTRY.get_sample_value("e2a_worker_units_total", {"outcome": "failed"}) is None
