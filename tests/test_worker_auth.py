"""Bearer tokens: a real worker process started with ``--token-file``."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from tests.support.worker_helpers import SEED_REQUEST, decode_audio, http_client, start_worker

TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    token_file = tmp_path_factory.mktemp("token") / "worker.token"
    token_file.write_text(TOKEN + "\n")
    with start_worker("--threads", "1", "--token-file", str(token_file)) as proc:
        yield proc


@pytest.fixture(scope="module")
def anonymous(worker):
    with http_client(worker.base_url) as c:
        yield c


@pytest.fixture(scope="module")
def authorised(worker):
    with http_client(worker.base_url, token=TOKEN) as c:
        yield c


def test_health_stays_open(anonymous):
    r = anonymous.get("/health")
    assert r.status_code == 200 and r.json()["model_loaded"] is True


@pytest.mark.parametrize(
    "method, path", [("GET", "/status"), ("GET", "/metrics"), ("POST", "/process_chapter"), ("GET", "/download/x.flac")]
)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_everything_else_needs_the_token(anonymous, method, path, header):
    headers = {"Authorization": header} if header else {}
    r = anonymous.request(method, path, headers=headers, json=SEED_REQUEST if method == "POST" else None)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"] == "missing or wrong bearer token"


def test_api_docs_are_not_served_when_a_token_is_set(anonymous, authorised):
    assert anonymous.get("/openapi.json").status_code in {401, 404}
    assert authorised.get("/docs").status_code == 404


def test_rejected_request_is_not_synthesised(anonymous, authorised):
    done = authorised.get("/status").json()["units_done"]
    assert anonymous.post("/process_chapter", json=SEED_REQUEST).status_code == 401
    assert authorised.get("/status").json()["units_done"] == done


def test_with_the_token_everything_works(authorised):
    assert authorised.get("/status").json()["engine"] == "piper"
    assert "e2a_worker_units_total" in authorised.get("/metrics").text
    body = authorised.post("/process_chapter", json={**SEED_REQUEST, "response_mode": "url"}).json()
    audio = authorised.get(body["audio_url"])
    assert audio.status_code == 200
    samples, rate = decode_audio(audio.content)
    assert len(samples) / rate == pytest.approx(body["duration"], rel=0.01)
    assert authorised.get("/download/unknown.flac").status_code == 404


def test_token_never_reaches_the_log(worker, authorised):
    authorised.get("/status")
    assert TOKEN not in worker.stderr()


def test_token_is_not_on_the_command_line_nor_in_any_reply(worker, anonymous, authorised):
    """``ps`` shows every user the command line; /status, errors and metrics are read by clients."""
    cmdline = Path(f"/proc/{worker.proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "--token-file" in cmdline and TOKEN not in cmdline
    ps = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(worker.proc.pid)], capture_output=True, text=True)
    if ps.returncode == 0:  # procps is optional; /proc above is what ps reads
        assert "remote_worker" in ps.stdout and TOKEN not in ps.stdout
    half = TOKEN[: len(TOKEN) // 2]
    replies = [
        authorised.get("/status").text,
        authorised.get("/metrics").text,
        anonymous.get("/status", headers={"Authorization": f"Bearer {half}"}).text,
        authorised.post("/process_chapter", json={"chapter_id": 1, "sentences": []}).text,
    ]
    for text in replies:
        assert TOKEN not in text and half not in text
