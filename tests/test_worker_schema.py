"""Schemathesis against a live worker on loopback: every reply documented, no 5xx, valid data accepted.

The worker runs under real uvicorn with a fast tone engine (the HTTP contract is what is tested here;
Piper behind the same app is covered by test_worker_api.py). The schema comes from the app object,
because a worker with a token does not serve /openapi.json. Bounded: few examples per operation,
fixed seeds (three for the open worker, one for the guarded one, whose schema only adds the bearer
scheme), one schemathesis worker, a hard timeout. The coverage phase (about 260 boundary and negative
requests, two thirds of a run's time) does not depend on the seed: schemathesis draws its values with
Hypothesis seeded at 0, so every seed sends the very same requests. It runs once per worker, with the
first seed; the other seeds only fuzz, which is what a different seed changes.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

from tests.support.tone_engine import ToneEngine
from tests.support.worker_helpers import http_client, serve_in_thread
from remote_worker.app import create_app

pytest.importorskip("schemathesis", reason="schemathesis is in the [test] extra")

MAX_EXAMPLES = 25
TIMEOUT_S = 240
#: Different seeds reach different corners of the schema.
SEEDS = (20261202, 7, 31337)
ALL_PHASES = "examples,coverage,fuzzing"


def _phases(seed: int) -> str:
    """All phases for the first seed; the seed-independent coverage phase is not sent again for the others."""
    return ALL_PHASES if seed == SEEDS[0] else "examples,fuzzing"


def _schemathesis(tmp_path: Path, token: Optional[str], header: Optional[str], seed: int) -> subprocess.CompletedProcess:
    app = create_app(ToneEngine(), token=token, download_ttl=60)
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(app.openapi()))
    with serve_in_thread(app) as base_url:
        cmd = [
            sys.executable, "-m", "schemathesis.cli", "run", str(schema), "--url", base_url,
            "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", str(seed), "--workers", "1",
            "--phases", _phases(seed), "--request-timeout", "30", "--no-color",
            "--report", "junit", "--report-dir", str(tmp_path / "report"),
        ]
        if header:
            cmd += ["--header", f"Authorization: {header}"]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path)


def _assert_clean(result: subprocess.CompletedProcess, phases: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Operations:" in output and "8 selected" in output  # every operation was exercised
    for phase in ("Coverage", "Fuzzing"):
        if phase.lower() in phases:  # the phase ran, on every operation
            assert re.search(rf"{phase} \(in [0-9.]+s\)\s+✅ 8 passed", output), output[-6000:]


@pytest.mark.parametrize("seed", SEEDS)
def test_worker_without_a_token_conforms(tmp_path, seed):
    started = time.monotonic()
    _assert_clean(_schemathesis(tmp_path, None, None, seed), _phases(seed))
    print(f"schemathesis, open worker, seed {seed}: {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("seed", SEEDS[:1])
def test_worker_with_a_token_conforms_and_documents_401(tmp_path, seed):
    token = secrets.token_urlsafe(24)
    started = time.monotonic()
    result = _schemathesis(tmp_path, token, f"Bearer {token}", seed)
    _assert_clean(result, _phases(seed))
    assert token not in result.stdout + result.stderr  # schemathesis masks it; so must everything else
    print(f"schemathesis, guarded worker, seed {seed}: {time.monotonic() - started:.1f} s")


def test_guarded_schema_declares_bearer_auth_and_every_status():
    schema = create_app(ToneEngine(), token="t").openapi()
    assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            codes = set(operation["responses"])
            if path == "/health":
                assert "security" not in operation and codes == {"200"}
            else:
                assert operation["security"] == [{"bearer": []}] and "401" in codes
    chapter = schema["paths"]["/process_chapter"]["post"]["responses"]
    assert {"200", "400", "401", "422", "500", "503"} <= set(chapter)
    assert "text/plain" in schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert "404" in schema["paths"]["/download/{file_id}"]["get"]["responses"]


class _CloningTone(ToneEngine):
    """The tone engine claiming to clone voices, as XTTS does (XTTS itself is not installed here)."""

    clones_voices = True


class _MultiSpeakerTone(ToneEngine):
    """The tone engine with four speaker ids once loaded, as a multi-speaker Piper voice has."""

    @property
    def speaker_id_count(self) -> int:
        return 4 if self.loaded else 0


def _tts_config(schema: dict) -> dict:
    return schema["components"]["schemas"]["TTSConfig"]["properties"]


def test_an_engine_that_cannot_clone_neither_advertises_nor_refuses_voice_fields():
    app = create_app(ToneEngine())
    assert not {"speaker_wav", "speaker"} & set(_tts_config(app.openapi()))
    body = {"chapter_id": 1, "sentences": ["Hello there."],
            "tts_config": {"speaker_wav": "no such voice", "speaker": "Nobody"}}
    with serve_in_thread(app) as url, http_client(url) as client:
        reply = client.post("/process_chapter", json=body)  # ignored, like any key it does not know
    assert reply.status_code == 200, reply.text


def test_a_cloning_engine_advertises_voice_fields_and_documents_their_422():
    app = create_app(_CloningTone())
    schema = app.openapi()
    assert {"speaker_wav", "speaker"} <= set(_tts_config(schema))
    refused = schema["paths"]["/process_chapter"]["post"]["responses"]["422"]["description"]
    assert "PUT /voices/{sha256}" in refused
    body = {"chapter_id": 1, "sentences": ["Hello there."], "tts_config": {"speaker_wav": "f" * 64}}
    with serve_in_thread(app) as url, http_client(url) as client:
        reply = client.post("/process_chapter", json=body)
    assert reply.status_code == 422 and "upload it with PUT /voices/" in reply.json()["detail"]


def test_a_multi_speaker_model_bounds_speaker_id_in_schema_and_server():
    engine = _MultiSpeakerTone()
    app = create_app(engine)
    assert "maximum" not in _tts_config(app.openapi())["speaker_id"]["anyOf"][0]  # not known before loading...
    engine.load()  # ...and that schema was not kept
    ids = [b for b in _tts_config(app.openapi())["speaker_id"]["anyOf"] if b.get("type") == "integer"]
    assert ids == [{"type": "integer", "minimum": 0, "maximum": 3}]
    with serve_in_thread(app) as url, http_client(url) as client:
        ok = client.post("/process_chapter", json={"chapter_id": 1, "sentences": ["Hi."], "tts_config": {"speaker_id": 3}})
        bad = client.post("/process_chapter", json={"chapter_id": 1, "sentences": ["Hi."], "tts_config": {"speaker_id": 4}})
    assert ok.status_code == 200, ok.text
    assert bad.status_code == 422 and bad.json() == {"detail": "speaker_id 4 is not one of this voice's speakers (0-3)"}


def test_a_method_a_path_does_not_take_is_405_naming_all_it_takes():
    """GET and PUT /voices/{sha256} are two routes; the 405 still names both."""
    with serve_in_thread(create_app(ToneEngine())) as url, http_client(url) as client:
        voice = client.delete(f"/voices/{'a' * 64}")
        health = client.put("/health")
    assert voice.status_code == 405 and voice.headers["allow"] == "GET, PUT"
    assert voice.json() == {"detail": "Method Not Allowed"}
    assert health.status_code == 405 and health.headers["allow"] == "GET"
