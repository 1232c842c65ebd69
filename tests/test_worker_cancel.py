"""A cancelled unit frees the worker's engine between two sentences (real worker process, real Piper).

Both ways of cancelling are covered: the explicit ``POST /cancel/{id}?attempt=``
extension and the client simply dropping its request. The time until the
engine is free is printed next to one sentence's synthesis time; the assertion
is only that the unit was stopped well before it could have finished.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.support.worker_helpers import SENTENCES, http_client, start_worker

pytestmark = pytest.mark.slow

LONG = [SENTENCES[i % len(SENTENCES)] for i in range(32)]


def _unit(chapter_id: str, sentences: list[str]) -> dict:
    return {"chapter_id": chapter_id, "sentences": sentences, "response_mode": "url", "audio_format": "flac"}


def _wait_status(http: httpx.Client, want: str, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http.get("/status").json()["status"] == want:
            return time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"worker never became {want}")


def test_cancel_endpoint_and_dropped_request_free_the_engine_within_a_sentence() -> None:
    with start_worker("--threads", "1") as worker, http_client(worker.base_url) as http:
        short = http.post("/process_chapter", json=_unit("warm", SENTENCES[:2])).json()
        per_sentence = short["synthesis_seconds"] / 2
        full_estimate = per_sentence * len(LONG)

        # 1. explicit cancel, narrowed to the attempt that sent the request
        answer: dict = {}

        def post_long() -> None:
            with http_client(worker.base_url) as other:
                resp = other.post("/process_chapter", json=_unit("long", LONG), headers={"X-E2A-Attempt": "7"})
                answer["status"] = resp.status_code

        thread = threading.Thread(target=post_long)
        thread.start()
        _wait_status(http, "busy")
        time.sleep(2 * per_sentence)
        assert http.post("/cancel/long", params={"attempt": "8"}).status_code == 404  # another attempt: untouched
        assert http.post("/cancel/nothing").status_code == 404
        cancelled_at = time.monotonic()
        assert http.post("/cancel/long", params={"attempt": "7"}).json() == {"cancelled": 1}
        freed_explicit = _wait_status(http, "idle") - cancelled_at
        thread.join(30)
        assert answer["status"] == 499

        # 2. the client drops its request (what a cancelled orchestrator task does)
        def drop_after_start() -> None:
            try:
                with httpx.Client(base_url=worker.base_url, trust_env=False, timeout=2 * per_sentence + 1.0) as c:
                    c.post("/process_chapter", json=_unit("dropped", LONG))
            except httpx.TimeoutException:
                answer["dropped_at"] = time.monotonic()

        thread = threading.Thread(target=drop_after_start)
        thread.start()
        thread.join(60)
        assert "dropped_at" in answer, "the request finished before the client gave up"
        freed_dropped = _wait_status(http, "idle") - answer["dropped_at"]

        status = http.get("/status").json()
        print(f"\none sentence: {per_sentence * 1000:.0f} ms; engine free after explicit cancel "
              f"{freed_explicit * 1000:.0f} ms, after a dropped request {freed_dropped * 1000:.0f} ms "
              f"(the whole unit would take ~{full_estimate:.1f} s)")
        assert freed_explicit < full_estimate / 3 and freed_dropped < full_estimate / 3
        # the engine time of both cancelled units is a fraction of one full unit
        assert status["synthesis_seconds"] - short["synthesis_seconds"] < full_estimate
        assert status["units_done"] == 1
