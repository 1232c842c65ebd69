"""Shared pieces for the worker tests: a real worker process or an in-thread uvicorn, and audio decoding."""

from __future__ import annotations

import base64
import io
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

import httpx
import numpy as np
import soundfile
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "REPO_ROOT",
    "SEED_REQUEST",
    "SENTENCES",
    "WorkerProcess",
    "start_worker",
    "serve_in_thread",
    "decode_audio",
    "decode_base64_audio",
    "metric_value",
    "wait_until",
    "http_client",
]

REPO_ROOT = Path(__file__).resolve().parents[2]

#: The request body exactly as SEED_API.md shows it.
SEED_REQUEST = {
    "chapter_id": 1,
    "sentences": ["This is the first sentence.", "This is the second sentence."],
    "tts_config": {"voice_name": "jenny", "language": "en", "model_name": "xtts"},
}

SENTENCES = [
    "The river ran low that summer, and the stones along its bed lay bare and white.",
    "Every morning the miller walked down to the water to see whether it had risen.",
    "It never had, and he came back up the hill more slowly each day.",
    "His daughter kept the accounts and said nothing, though she could count as well as anyone.",
    "By August the great wheel had stopped turning altogether.",
    "Then, one night in early September, it began to rain.",
    "It rained for three days without pause, steady and warm and quiet.",
    "On the fourth morning the miller heard the wheel before he was out of bed.",
]


class WorkerProcess:
    """``python -m remote_worker`` started as a subprocess; the port comes from its stdout line."""

    def __init__(self, args: Sequence[str], env: Optional[dict[str, str]] = None, timeout: float = 90.0) -> None:
        self._stderr = tempfile.TemporaryFile()
        full_env = dict(os.environ)
        full_env.pop("E2A_WORKER_TOKEN", None)
        full_env.pop("WORKER_PORT", None)
        full_env.pop("TTS_MODEL", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "remote_worker", *args],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.port = self._read_port(timeout)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _read_port(self, timeout: float) -> int:
        assert self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = self.proc.stdout.readline()
                if line.startswith("E2A_WORKER_PORT="):
                    return int(line.strip().split("=", 1)[1])
                if line == "":
                    break
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"worker did not announce a port; stderr:\n{self.stderr()}")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def close(self) -> None:
        """Stop the process and drop its captured stderr."""
        self.stop()
        self._stderr.close()


@contextmanager
def start_worker(*args: str, env: Optional[dict[str, str]] = None) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(["--port", "0", "--log-level", "warning", *args], env=env)
    try:
        yield worker
    finally:
        worker.close()


@contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on a loopback port in a thread; yields the base URL."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), timeout=60)
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def decode_audio(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    return samples, rate


def decode_base64_audio(text: str) -> tuple[np.ndarray, int]:
    return decode_audio(base64.b64decode(text))


def metric_value(text: str, sample_name: str, labels: Optional[dict[str, str]] = None) -> Optional[float]:
    """The value of one sample in a Prometheus text exposition, parsed by prometheus_client."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            wanted = labels or {}
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in wanted.items()):
                return sample.value
    return None


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def http_client(base_url: str, token: Optional[str] = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, trust_env=False, timeout=180)
