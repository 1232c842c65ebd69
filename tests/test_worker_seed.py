"""Replies of our worker validate against the design's own models (tests/support/seed_models.py).

Without a GPU: a real ``python -m remote_worker`` process with real Piper. With a GPU: the same app
in uvicorn with NVML replaced at our own seam (``remote_worker.app.GpuProbe``) by a probe reporting
what NVML reports on a real card (fractional MiB), since this machine has none.
"""

from __future__ import annotations

import base64

import pytest

import remote_worker.app as worker_app
from tests.support.seed_models import ChapterRequest, ChapterResponse, HealthResponse, StatusResponse
from tests.support.tone_engine import ToneEngine
from tests.support.worker_helpers import SEED_REQUEST, http_client, serve_in_thread, start_worker
from remote_worker.gpu import GpuProbe, GpuSnapshot
from remote_worker.protocol import StatusResponse as OurStatus


def _check_all(client) -> dict:
    ChapterRequest.model_validate(SEED_REQUEST)  # the request we send is the design's too
    health = client.get("/health")
    status = client.get("/status")
    inline = client.post("/process_chapter", json=SEED_REQUEST)
    by_url = client.post("/process_chapter", json={**SEED_REQUEST, "response_mode": "url"})
    for reply in (health, status, inline, by_url):
        assert reply.status_code == 200, reply.text
    HealthResponse.model_validate(health.json())
    seed_status = StatusResponse.model_validate(status.json())
    assert type(status.json()["gpu_memory_free_mb"]) is int and type(status.json()["uptime_seconds"]) is int
    a = ChapterResponse.model_validate(inline.json())
    b = ChapterResponse.model_validate(by_url.json())
    assert a.chapter_id == 1 and a.num_sentences == 2 and a.duration > 0 and base64.b64decode(a.audio_base64)
    assert b.audio_url and client.get(b.audio_url).status_code == 200
    # our own client parses the same reply with our model, extras included
    ours = OurStatus.model_validate(status.json())
    assert ours.gpu_memory_free_mb == seed_status.gpu_memory_free_mb and ours.engine
    return status.json()


def test_cpu_worker_process_satisfies_the_seed_models():
    with start_worker("--threads", "1") as worker, http_client(worker.base_url) as client:
        status = _check_all(client)
    assert status["gpu_memory_free_mb"] == 0 and status["gpu_name"] is None  # the seed's own worker sends 0


class _NvmlLikeProbe(GpuProbe):
    """What NVML gives on a real card: memory in bytes, so fractional MiB once divided."""

    def open(self) -> None:
        self.name = "NVIDIA H200"

    @property
    def available(self) -> bool:
        return True

    def snapshot(self) -> GpuSnapshot:
        return GpuSnapshot("NVIDIA H200", 1023.7, 143771.0, 142747.3, 37.0)

    def close(self) -> None:
        return None


def test_gpu_worker_satisfies_the_seed_models(monkeypatch):
    monkeypatch.setattr(worker_app, "GpuProbe", _NvmlLikeProbe)
    app = worker_app.create_app(ToneEngine())
    with serve_in_thread(app) as url, http_client(url) as client:
        status = _check_all(client)
        assert client.get("/health").json()["gpu_available"] is True
    assert status["gpu_memory_free_mb"] == 142747 and status["gpu_memory_used_mb"] == pytest.approx(1023.7)


@pytest.mark.parametrize("sent, parsed", [(None, 0), (15360.6, 15361), (3600, 3600)])
def test_our_client_still_reads_older_workers(sent, parsed):
    """Workers of the previous release sent null / fractional floats; our model still reads them."""
    body = {"status": "idle", "current_chapter": None, "gpu_memory_free_mb": sent, "uptime_seconds": sent}
    status = OurStatus.model_validate(body)
    assert status.gpu_memory_free_mb == parsed and status.uptime_seconds == parsed
