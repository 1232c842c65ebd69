"""``python -m remote_worker`` refusals and announcements, run as real processes."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys

import pytest

from tests.support.worker_helpers import REPO_ROOT, http_client, start_worker


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in {"E2A_WORKER_TOKEN", "TTS_MODEL", "WORKER_PORT"}}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "remote_worker", *args],
        cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=120,
    )


def _one_line_refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("e2a-worker: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_refuses_a_non_loopback_address_without_a_token(host):
    line = _one_line_refusal(_run("--host", host, "--port", "0"))
    assert "without a token" in line and host in line


@pytest.mark.parametrize(
    "args, env, needle",
    [
        (["--voice", "/nonexistent/voice.onnx"], {}, "piper voice not found: /nonexistent/voice.onnx"),
        (["--voice", "voice.txt"], {}, "must be an .onnx file"),
        (["--engine", "nosuch"], {}, "unknown engine 'nosuch'"),
        ([], {"TTS_MODEL": "nosuch"}, "unknown engine 'nosuch'"),
        (["--threads", "0"], {}, "--threads must be at least 1"),
        (["--port", "70000"], {}, "outside 0..65535"),
        ([], {"WORKER_PORT": "eighty"}, "not a port number"),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (["--token-file", "/nonexistent/token"], {}, "cannot read token file"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args, env, needle):
    assert needle in _one_line_refusal(_run(*args, env=env))


def test_empty_token_file_is_refused(tmp_path):
    empty = tmp_path / "token"
    empty.write_text("\n")
    assert "is empty" in _one_line_refusal(_run("--token-file", str(empty)))


@pytest.mark.skipif(importlib.util.find_spec("TTS") is not None, reason="coqui TTS is installed here")
def test_xtts_without_its_extra_says_which_extra():
    assert "engine xtts needs the [xtts] extra" in _one_line_refusal(_run("--engine", "xtts"))


def test_port_in_use_is_a_one_line_refusal():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        line = _one_line_refusal(_run("--port", str(busy.getsockname()[1])))
    assert "cannot listen on 127.0.0.1" in line


def test_token_allows_any_address_and_temp_folder_goes_at_shutdown(tmp_path):
    ready, temp = tmp_path / "ready", tmp_path / "tmp"
    temp.mkdir()
    env = {"E2A_WORKER_TOKEN": "s3cret-token", "TMPDIR": str(temp)}
    with start_worker("--host", "0.0.0.0", "--threads", "1", "--ready-file", str(ready), env=env) as worker:
        assert ready.read_text().strip() == str(worker.port)
        assert [p.name.startswith("e2a-worker-") for p in temp.iterdir() if p.is_dir()] == [True]
        with http_client(worker.base_url) as anonymous:
            assert anonymous.get("/status").status_code == 401
        with http_client(worker.base_url, token="s3cret-token") as client:
            assert client.get("/status").json()["status"] == "idle"
        rc = worker.stop()
    assert rc == -15  # uvicorn shuts down cleanly, then re-raises SIGTERM
    assert not [p for p in temp.iterdir() if p.is_dir()]


def test_folder_of_a_killed_worker_is_swept_by_the_next_one(tmp_path):
    import signal

    temp = tmp_path / "tmp"
    temp.mkdir()
    with start_worker("--threads", "1", env={"TMPDIR": str(temp)}) as killed:
        (left,) = [p for p in temp.iterdir() if p.name.startswith("e2a-worker-")]
        killed.proc.send_signal(signal.SIGKILL)
        killed.proc.wait(timeout=20)
    assert left.exists()  # SIGKILL gives no chance to clean up
    os.utime(left, (0, 0))  # as if killed long ago
    with start_worker("--threads", "1", env={"TMPDIR": str(temp)}):
        folders = [p for p in temp.iterdir() if p.name.startswith("e2a-worker-")]
        assert left not in folders and len(folders) == 1
