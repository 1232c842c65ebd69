"""The worker over real HTTP: a ``python -m remote_worker`` process with real Piper, shared by the module."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import time

import httpx
import numpy as np
import pytest

from tests.support.worker_helpers import (
    SEED_REQUEST,
    SENTENCES,
    decode_audio,
    decode_base64_audio,
    http_client,
    metric_value,
    start_worker,
    wait_until,
)
from remote_worker.protocol import MAX_SENTENCE_CHARS, MAX_SENTENCES, MAX_TOTAL_CHARS

SEED_RESPONSE_FIELDS = {"chapter_id", "duration", "num_sentences"}


@pytest.fixture(scope="module")
def worker():
    with start_worker("--threads", "1") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(worker):
    with http_client(worker.base_url) as c:
        yield c


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def test_seed_request_option_a_inline_audio(client):
    r = client.post("/process_chapter", json=SEED_REQUEST)
    assert r.status_code == 200, r.text
    body = r.json()
    assert SEED_RESPONSE_FIELDS | {"audio_base64"} <= set(body)
    assert "audio_url" not in body
    assert body["chapter_id"] == 1 and body["num_sentences"] == 2
    raw = base64.b64decode(body["audio_base64"])
    assert hashlib.sha256(raw).hexdigest() == body["sha256"]
    assert len(raw) == body["size_bytes"]
    samples, rate = decode_audio(raw)
    assert rate == body["sample_rate"] == 22050
    assert samples.ndim == 1 and len(samples) == body["num_samples"]
    assert len(samples) / rate == pytest.approx(body["duration"], rel=0.01)
    assert body["duration"] > 1.0
    assert _rms(samples) > 0.01
    assert body["format"] == "flac" and body["engine"] == "piper" and body["voice"] == "en_US-joe-medium"
    assert body["synthesis_seconds"] > 0


def test_option_b_audio_url_streams_flac_and_can_be_fetched_again(client):
    r = client.post("/process_chapter", json={**SEED_REQUEST, "chapter_id": "unit-7", "response_mode": "url"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "audio_base64" not in body and body["chapter_id"] == "unit-7"
    url = httpx.URL(body["audio_url"])
    assert url.path.startswith("/download/") and url.path.endswith(".flac")
    got = client.get(body["audio_url"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "audio/flac"
    assert hashlib.sha256(got.content).hexdigest() == body["sha256"]
    samples, rate = decode_audio(got.content)
    assert len(samples) / rate == pytest.approx(body["duration"], rel=0.01)
    again = client.get(url.path)
    assert again.status_code == 200 and again.content == got.content


@pytest.mark.parametrize("audio_format", ["wav", "mp3"])
def test_other_formats_on_request(client, audio_format):
    r = client.post("/process_chapter", json={**SEED_REQUEST, "audio_format": audio_format})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == audio_format
    samples, rate = decode_base64_audio(body["audio_base64"])
    assert rate == 22050
    assert len(samples) / rate == pytest.approx(body["duration"], rel=0.01)


def test_sentence_timings_follow_the_requested_gaps(client):
    request = {
        "chapter_id": 3,
        "sentences": SENTENCES[:4],
        "sentence_gap_ms": 300,
        "paragraph_gap_ms": 900,
        "paragraph_starts": [0, 2],
        "trailing_gap_ms": 500,
        "response_mode": "url",
    }
    body = client.post("/process_chapter", json=request).json()
    samples, rate = decode_audio(client.get(body["audio_url"]).content)
    timings = [(t["start"], t["end"]) for t in body["sentence_timings"]]
    assert len(timings) == 4
    assert timings[0][0] == 0.0
    for (start, end), (next_start, _) in zip(timings, timings[1:]):
        assert start < end <= next_start
    assert timings[-1][1] <= body["duration"]
    gaps = [b[0] - a[1] for a, b in zip(timings, timings[1:])]
    assert gaps[0] == pytest.approx(0.300, abs=1 / rate)
    assert gaps[1] == pytest.approx(0.900, abs=1 / rate)  # sentence 2 starts a paragraph
    assert gaps[2] == pytest.approx(0.300, abs=1 / rate)
    assert body["duration"] - timings[-1][1] == pytest.approx(0.500, abs=1 / rate)
    for start, end in timings:  # speech inside each span, true silence between them
        assert _rms(samples[int(start * rate) : int(end * rate)]) > 0.01
    for (_, end), (next_start, _) in zip(timings, timings[1:]):
        assert np.max(np.abs(samples[int(round(end * rate)) : int(round(next_start * rate))])) == 0.0


def test_blank_sentence_keeps_a_zero_length_timing(client):
    sentences = ["First, a sentence.", "   ", "Then another one."]
    request = {"chapter_id": 4, "sentences": sentences, "sentence_gap_ms": 200}
    body = client.post("/process_chapter", json=request).json()
    (s0, e0), (s1, e1), (s2, e2) = [(t["start"], t["end"]) for t in body["sentence_timings"]]
    assert s1 == e1 == e0
    assert s2 - e0 == pytest.approx(0.200, abs=1e-4)  # one gap, not two
    assert body["num_sentences"] == 3


def test_text_with_nothing_to_pronounce_is_a_short_silence_not_a_refusal(client):
    # not blank, so the schema allows it; Piper finds nothing to say in dashes and ellipses
    r = client.post("/process_chapter", json={"chapter_id": 6, "sentences": ["—", "…"], "trailing_gap_ms": 400})
    assert r.status_code == 200, r.text
    body = r.json()
    samples, rate = decode_base64_audio(body["audio_base64"])
    assert body["duration"] == pytest.approx(0.4, abs=0.01) and len(samples) == body["num_samples"]
    assert not np.any(samples) and [(t["start"], t["end"]) for t in body["sentence_timings"]] == [(0, 0), (0, 0)]


def test_unknown_tts_config_keys_are_ignored(client):
    request = {**SEED_REQUEST, "tts_config": {**SEED_REQUEST["tts_config"], "emotion": "calm", "x": {"y": [1]}}}
    request["future_field"] = True
    r = client.post("/process_chapter", json=request)
    assert r.status_code == 200, r.text
    assert r.json()["duration"] > 0


def test_length_scale_slows_speech(client):
    base = client.post("/process_chapter", json={"chapter_id": 5, "sentences": SENTENCES[:1]}).json()
    slow = client.post(
        "/process_chapter", json={"chapter_id": 5, "sentences": SENTENCES[:1], "tts_config": {"length_scale": 1.5}}
    ).json()
    assert slow["duration"] > base["duration"] * 1.25


@pytest.mark.parametrize(
    "payload",
    [
        {"sentences": ["No id."]},
        {"chapter_id": 1},
        {"chapter_id": 1, "sentences": []},
        {"chapter_id": 1, "sentences": "not a list"},
        {"chapter_id": 1, "sentences": ["x"], "audio_format": "ogg"},
        {"chapter_id": 1, "sentences": ["x"], "sentence_gap_ms": -1},
        {"chapter_id": [1], "sentences": ["x"]},
    ],
)
def test_invalid_body_is_422_with_a_one_line_detail(client, payload):
    r = client.post("/process_chapter", json=payload)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith("invalid request")


def test_body_that_is_not_json_is_422(client):
    r = client.post("/process_chapter", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


@pytest.mark.parametrize(
    "sentences, needle",
    [
        (["a."] * (MAX_SENTENCES + 1), "too many sentences"),
        (["a" * (MAX_SENTENCE_CHARS + 1)], "characters (limit"),
        (["b" * MAX_SENTENCE_CHARS] * (MAX_TOTAL_CHARS // MAX_SENTENCE_CHARS + 1), "in all"),
        (["   ", ""], "nothing to speak"),
    ],
)
def test_request_limits_are_422_with_a_clear_message(client, sentences, needle):
    r = client.post("/process_chapter", json={"chapter_id": 9, "sentences": sentences})
    assert r.status_code == 422
    assert needle in r.json()["detail"]


def test_paragraph_start_past_the_last_sentence_is_ignored(client):
    # the schema cannot tie paragraph_starts to len(sentences), so a schema-valid index past the end is harmless
    r = client.post("/process_chapter", json={"chapter_id": 9, "sentences": ["One."], "paragraph_starts": [3]})
    assert r.status_code == 200, r.text
    assert r.json()["num_sentences"] == 1 and r.json()["duration"] > 0
    negative = client.post("/process_chapter", json={"chapter_id": 9, "sentences": ["One."], "paragraph_starts": [-1]})
    assert negative.status_code == 422


@pytest.mark.parametrize(
    "path", ["/download/../x", "/download/..%2Fx", "/download/nope.flac", "/download/%2Fetc%2Fpasswd"]
)
def test_download_serves_only_issued_ids(worker, path):
    # raw socket, so no client normalises the path before the worker sees it
    with socket.create_connection(("127.0.0.1", worker.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.split(b"\r\n", 1)[0].split(b" ")[1] == b"404"


def test_health_and_status_describe_the_engine(client):
    health = client.get("/health").json()
    assert health["status"] == "healthy" and health["model_loaded"] is True
    assert isinstance(health["gpu_available"], bool) and health["engine"] == "piper"
    status = client.get("/status").json()
    assert status["status"] == "idle" and status["current_chapter"] is None
    assert status["engine"] == "piper" and status["voice"] == "en_US-joe-medium"
    assert status["threads"] == 1
    assert status["provider"] in {"CPUExecutionProvider", "CUDAExecutionProvider"}
    assert status["device"] == ("cuda" if status["provider"] == "CUDAExecutionProvider" else "cpu")
    if not health["gpu_available"]:
        assert status["gpu_name"] is None and status["gpu_memory_free_mb"] == 0
    assert type(status["gpu_memory_free_mb"]) is int and type(status["uptime_seconds"]) is int
    assert status["uptime_seconds"] >= 0


def test_metrics_parse_and_count_units(client):
    before = client.get("/metrics")
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    ok_before = metric_value(before.text, "e2a_worker_units_total", {"outcome": "ok"})
    audio_before = metric_value(before.text, "e2a_worker_audio_seconds_total")
    body = client.post("/process_chapter", json=SEED_REQUEST).json()
    after = client.get("/metrics").text
    assert metric_value(after, "e2a_worker_units_total", {"outcome": "ok"}) == ok_before + 1
    assert metric_value(after, "e2a_worker_audio_seconds_total") == pytest.approx(audio_before + body["duration"])
    assert metric_value(after, "e2a_worker_info", {"engine": "piper", "voice": "en_US-joe-medium"}) == 1.0
    assert metric_value(after, "e2a_worker_busy") == 0.0
    assert metric_value(after, "e2a_worker_synthesis_seconds_total") > 0


async def test_one_runs_one_queues_third_is_503_and_probes_stay_fast(worker):
    long_unit = {"chapter_id": "long", "sentences": SENTENCES + SENTENCES[:4]}
    async with httpx.AsyncClient(base_url=worker.base_url, trust_env=False, timeout=300) as ac:
        await ac.get("/health")  # connection warm, so only the answer is timed
        first = asyncio.create_task(ac.post("/process_chapter", json=long_unit))
        while (await ac.get("/status")).json()["status"] != "busy":
            await asyncio.sleep(0.02)

        for path in ("/health", "/status", "/health", "/status", "/status"):
            began = time.perf_counter()
            r = await ac.get(path)
            elapsed = time.perf_counter() - began
            assert r.status_code == 200
            assert elapsed < 0.100, f"{path} took {elapsed * 1000:.0f} ms during synthesis"
        status = (await ac.get("/status")).json()
        assert status["status"] == "busy" and status["current_chapter"] == "long"

        second = asyncio.create_task(
            ac.post("/process_chapter", json={"chapter_id": "next", "sentences": SENTENCES[:2]})
        )
        while (await ac.get("/status")).json()["queued"] != 1:
            await asyncio.sleep(0.02)
        third = await ac.post("/process_chapter", json={"chapter_id": "extra", "sentences": SENTENCES[:1]})
        assert third.status_code == 503
        assert "busy" in third.json()["detail"]
        assert (await ac.get("/status")).json()["current_chapter"] == "long"  # still the first unit

        r1, r2 = await first, await second
        assert r1.status_code == 200 and r2.status_code == 200
        assert r1.json()["num_sentences"] == 12 and r2.json()["chapter_id"] == "next"
        metrics = (await ac.get("/metrics")).text
        assert metric_value(metrics, "e2a_worker_units_total", {"outcome": "rejected"}) >= 1


def test_queued_unit_whose_client_leaves_is_not_synthesised(worker, client):
    done_before = client.get("/status").json()["units_done"]
    abandoned_before = metric_value(client.get("/metrics").text, "e2a_worker_units_total", {"outcome": "abandoned"})

    async def scenario() -> int:
        async with httpx.AsyncClient(base_url=worker.base_url, trust_env=False, timeout=300) as ac:
            first = asyncio.create_task(ac.post("/process_chapter", json={"chapter_id": "a", "sentences": SENTENCES}))
            while (await ac.get("/status")).json()["status"] != "busy":
                await asyncio.sleep(0.02)
            reader, writer = await asyncio.open_connection("127.0.0.1", worker.port)
            payload = b'{"chapter_id": "gone", "sentences": ["This should never be spoken."]}'
            writer.write(
                b"POST /process_chapter HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
            while (await ac.get("/status")).json()["queued"] != 1:
                await asyncio.sleep(0.02)
            writer.close()
            await writer.wait_closed()
            return (await first).status_code

    assert asyncio.run(scenario()) == 200
    assert wait_until(
        lambda: metric_value(client.get("/metrics").text, "e2a_worker_units_total", {"outcome": "abandoned"})
        == abandoned_before + 1,
        timeout=30,
    )
    status = client.get("/status").json()
    assert status["units_done"] == done_before + 1  # only "a" was synthesised
    assert status["queued"] == 0 and status["status"] == "idle"
