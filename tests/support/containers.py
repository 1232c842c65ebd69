"""Real podman for the container tests: a Debian base made with debootstrap, images built from
``Dockerfile.worker``, worker containers on the host's loopback with a token, and cleanup.

No image registry is needed: the base is ``debootstrap --variant=minbase`` from the Debian mirror apt
already uses, imported once as ``localhost/e2a-debian-base:bookworm`` and kept between runs (it holds
nothing of the project). pip inside a build gets the host's CA bundle as a build secret only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile.worker"
BASE_IMAGE = "localhost/e2a-debian-base:bookworm"
WORKER_IMAGE = "localhost/e2a-worker:test"
ORCHESTRATOR_IMAGE = "localhost/e2a-orchestrator:test"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
#: every container a test starts carries this label, so cleanup finds exactly those
TEST_LABEL = "org.e2a.test=containers"

# crun fails on this host's hybrid cgroups and the default ulimits are above what it allows
_CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


class PodmanError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    """What the container tests need and this machine lacks (root, podman, runc, debootstrap)."""
    missing = [tool for tool in ("podman", "runc", "debootstrap") if _tool(tool) is None]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


def _tool(name: str) -> Optional[str]:
    found = shutil.which(name)
    if found is None and Path("/usr/sbin", name).exists():  # root's tools when PATH has no sbin
        found = str(Path("/usr/sbin", name))
    return found


def podman_env() -> dict[str, str]:
    """The environment for podman (and podman-compose): our containers.conf, no proxies."""
    conf = Path(tempfile.gettempdir()) / "e2a-test-containers.conf"
    if not conf.exists() or conf.read_text() != _CONTAINERS_CONF:
        conf.write_text(_CONTAINERS_CONF)
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(conf)
    return env


def podman(*args: str, check: bool = True, timeout: float = 300, input: Optional[bytes] = None
           ) -> subprocess.CompletedProcess:
    """Run ``podman ARGS``; output as text; PodmanError with its stderr when ``check`` and it fails."""
    proc = subprocess.run(["podman", *args], capture_output=True, env=podman_env(), timeout=timeout,
                          input=input)
    out = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
                                      proc.stderr.decode("utf-8", "replace"))
    if check and out.returncode != 0:
        raise PodmanError(f"podman {' '.join(args)} exited {out.returncode}: {out.stderr.strip()[-2000:]}")
    return out


def image_exists(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def debian_mirror() -> str:
    """The Debian mirror apt already uses here (deb822 ``URIs:`` or a one-line ``deb`` entry)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file() or not path.name.endswith((".list", ".sources")):
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            m = re.match(r"URIs:\s*(\S+)", line) or re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    return "http://deb.debian.org/debian"


def ensure_debian_base() -> float:
    """Import the debootstrapped Debian base unless it is there; the seconds it took (0 when cached)."""
    if image_exists(BASE_IMAGE):
        return 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="e2a-base-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        made = subprocess.run([_tool("debootstrap") or "debootstrap", "--variant=minbase", "bookworm", str(root),
                               debian_mirror()], capture_output=True, text=True, timeout=900)
        if made.returncode != 0:
            raise PodmanError(f"debootstrap exited {made.returncode}: {(made.stdout + made.stderr)[-2000:]}")
        # what apt downloaded and indexed is not part of a base (the build runs apt-get update itself)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / junk).glob("*"):
                if item.is_file():
                    item.unlink()
        for item in (root / "var/cache/apt").glob("*.bin"):
            item.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        try:
            imported = subprocess.run(["podman", "import", "-", BASE_IMAGE], stdin=tar.stdout,
                                      capture_output=True, env=podman_env(), timeout=600)
        finally:
            assert tar.stdout is not None
            tar.stdout.close()
            tar.wait()
        if imported.returncode != 0:
            raise PodmanError(f"podman import failed: {imported.stderr.decode(errors='replace')[-2000:]}")
    return time.monotonic() - started


def build_image(tag: str, *, target: str = "worker", build_args: Optional[dict[str, str]] = None,
                timeout: float = 1500) -> float:
    """``podman build`` of Dockerfile.worker on the Debian base; the seconds it took.

    ``--format docker`` keeps the HEALTHCHECK (the OCI format has none); the host's CA bundle (pip's TLS
    is re-signed here) is a build secret, so no layer holds it.
    """
    args = {"BASE_IMAGE": BASE_IMAGE, **(build_args or {})}
    cmd = ["build", "--format", "docker", "--isolation", "chroot", "--layers", "-f", str(DOCKERFILE),
           "--target", target, "-t", tag, "--label", TEST_LABEL]
    if HOST_CA.is_file():
        cmd += ["--secret", f"id=pip_ca,src={HOST_CA}"]
    for key, value in args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    started = time.monotonic()
    podman(*cmd, str(REPO_ROOT), timeout=timeout)
    took = time.monotonic() - started
    # the layers an earlier build of this tag left behind (now untagged) are not a cache any more
    podman("image", "prune", "-f", "--filter", f"label={TEST_LABEL}", check=False)
    return took


def image_size_mb(tag: str) -> float:
    info = json.loads(podman("image", "inspect", tag).stdout)[0]
    return info["Size"] / 1e6


def image_config(tag: str) -> dict:
    info = json.loads(podman("image", "inspect", tag).stdout)[0]
    return {**info.get("Config", {}), "Healthcheck": info.get("Healthcheck") or info.get("HealthCheck")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(url: str, token: Optional[str] = None, timeout: float = 5.0) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return json.loads(response.read())


def http_status(url: str, token: Optional[str] = None) -> int:
    try:
        http_json(url, token)
        return 200
    except urllib.error.HTTPError as exc:
        return exc.code


def remove_test_containers() -> None:
    """Remove every container the container tests started (by their label), running or not."""
    ids = podman("ps", "-aq", "--filter", f"label={TEST_LABEL}", check=False).stdout.split()
    if ids:
        podman("rm", "-f", "-v", "-t", "0", *ids, check=False, timeout=120)  # -v: their anonymous volumes too


@dataclass
class WorkerContainer:
    name: str
    port: int
    token: Optional[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self) -> dict:
        return http_json(f"{self.url}/status", self.token)

    def state(self) -> dict:
        return json.loads(podman("inspect", self.name).stdout)[0]["State"]

    def logs(self) -> str:
        out = podman("logs", self.name, check=False)
        return out.stdout + out.stderr

    def wait_healthy(self, timeout: float = 180) -> None:
        """Until /health answers (a deadline only against hanging forever, never a speed check)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if http_json(f"{self.url}/health", timeout=2).get("status") == "healthy":
                    return
            except (OSError, ValueError):
                pass
            if not self.state().get("Running"):
                raise PodmanError(f"worker container {self.name} stopped: {self.logs()[-2000:]}")
            if time.monotonic() > deadline:
                raise PodmanError(f"worker container {self.name} never answered /health: {self.logs()[-2000:]}")
            time.sleep(0.2)


def run_worker(name: str, *, token: Optional[str] = None, token_file: Optional[Path] = None,
               port: Optional[int] = None, network: str = "host", extra: Sequence[str] = (),
               image: str = WORKER_IMAGE) -> WorkerContainer:
    """Start a worker container detached. On the host network with a token it listens on 0.0.0.0:PORT
    of this machine (token required); tests only ever reach it through 127.0.0.1."""
    port = port or free_port()
    cmd = ["run", "-d", "--name", name, "--label", TEST_LABEL, "--network", network,
           "-e", f"WORKER_PORT={port}"]
    worker_args: list[str] = ["--threads", "1"]
    if token is not None:
        cmd += ["-e", f"E2A_WORKER_TOKEN={token}"]
    if token_file is not None:
        cmd += ["-v", f"{token_file}:/run/secrets/e2a_worker_token:ro"]
        worker_args = ["--token-file", "/run/secrets/e2a_worker_token", *worker_args]
    podman(*cmd, image, *worker_args, *extra)
    return WorkerContainer(name=name, port=port, token=token or (token_file.read_text().strip()
                                                                  if token_file else None))


def podman_compose() -> Optional[list[str]]:
    """The podman-compose command: the one beside this Python (pip) or on PATH (apt)."""
    beside = Path(os.path.realpath(sys.executable)).parent / "podman-compose"
    for candidate in (Path(sys.executable).parent / "podman-compose", beside):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("podman-compose")
    return [found] if found else None
