"""Schemathesis against a live worker on loopback: every reply documented, no 5xx, valid data accepted.

The worker runs under real uvicorn with a fast tone engine (the HTTP contract is what is tested here;
Piper behind the same app is covered by test_worker_api.py). The schema comes from the app object,
because a worker with a token does not serve /openapi.json. Bounded: few examples per operation, a
fixed seed, one schemathesis worker, a hard timeout.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

from _tone_engine import ToneEngine
from _worker_helpers import serve_in_thread
from remote_worker.app import create_app

pytest.importorskip("schemathesis", reason="schemathesis is in the [test] extra")

MAX_EXAMPLES = 25
TIMEOUT_S = 240


def _schemathesis(tmp_path: Path, token: Optional[str], header: Optional[str]) -> subprocess.CompletedProcess:
    app = create_app(ToneEngine(), token=token, download_ttl=60)
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(app.openapi()))
    with serve_in_thread(app) as base_url:
        cmd = [
            sys.executable, "-m", "schemathesis.cli", "run", str(schema), "--url", base_url,
            "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", "20261202", "--workers", "1",
            "--phases", "examples,coverage,fuzzing", "--request-timeout", "30", "--no-color",
            "--report", "junit", "--report-dir", str(tmp_path / "report"),
        ]
        if header:
            cmd += ["--header", f"Authorization: {header}"]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path)


def _assert_clean(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Operations:" in output and "8 selected" in output  # every operation was exercised


def test_worker_without_a_token_conforms(tmp_path):
    started = time.monotonic()
    _assert_clean(_schemathesis(tmp_path, None, None))
    print(f"schemathesis, open worker: {time.monotonic() - started:.1f} s")


def test_worker_with_a_token_conforms_and_documents_401(tmp_path):
    token = secrets.token_urlsafe(24)
    started = time.monotonic()
    result = _schemathesis(tmp_path, token, f"Bearer {token}")
    _assert_clean(result)
    assert token not in result.stdout + result.stderr  # schemathesis masks it; so must everything else
    print(f"schemathesis, guarded worker: {time.monotonic() - started:.1f} s")


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
