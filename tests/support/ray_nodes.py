"""A real two-node Ray cluster on this machine: two raylets in two network namespaces.

On the host Ray takes eth0's address and listens on every interface, so neither node runs
there: the head runs in namespace ``a``, the second node in ``b``, joined by one veth pair on a
benchmarking subnet (198.19.0.0/16) that exists only between them. Each node is a plain
``ray start`` with its own ``--temp-dir``; teardown kills only the processes inside the two
namespaces (never ``ray stop``, which would stop every Ray process on the machine). The
orchestrator runs inside namespace ``a`` too (the driver on the head node, as on KubeRay).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

__all__ = ["RayNodes", "skip_unless_ray_netns", "shared_ray_nodes", "ACTOR_TITLE", "HEAD_PORT"]

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
HEAD_PORT = 6380  # outside Ray's default worker-port range (10002-19999)
ACTOR_TITLE = "ray::WorkerActor"  # the process title Ray gives our actor's process


def _run(*argv: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)


def skip_unless_ray_netns() -> None:
    """Skip (with the reason) unless this is root with ip(8) and Ray installed."""
    if os.geteuid() != 0:
        pytest.skip("Ray node tests need root (network namespaces)")
    if not shutil.which("ip"):
        pytest.skip("Ray node tests need iproute2")
    if not Path(RAY).exists():
        pytest.skip("Ray is not installed (pip install 'e2a-tui[ray]')")


def _reap_stale() -> None:
    """Namespaces a killed earlier run left (``e2ar-<pid>-x`` with that pid gone): kill inside, delete."""
    for line in _run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        bits = name.split("-")
        if len(bits) == 3 and bits[0] == "e2ar" and bits[1].isdigit() and not Path(f"/proc/{bits[1]}").exists():
            for pid in _run("ip", "netns", "pids", name, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _run("ip", "netns", "del", name, check=False)


@dataclass
class RayNodes:
    root: Path
    tag: str
    subnet: str
    ns: dict[str, str] = field(default_factory=dict)  # "a"/"b" -> namespace name
    ips: dict[str, str] = field(default_factory=dict)
    _closed: bool = False

    @property
    def address(self) -> str:
        return f"{self.ips['a']}:{HEAD_PORT}"

    @classmethod
    def create(cls, cpus: int = 1) -> "RayNodes":
        _reap_stale()
        tag = str(os.getpid())
        root = Path(tempfile.mkdtemp(prefix=f"e2a-ray-{tag}-"))
        nodes = cls(root=root, tag=tag, subnet=cls._free_subnet(int(tag)))
        atexit.register(nodes.close)
        try:
            nodes._build(cpus)
        except Exception:
            nodes.close()
            raise
        return nodes

    @staticmethod
    def _free_subnet(seed: int) -> str:
        used = _run("ip", "-4", "addr", "show").stdout
        for i in range(200):
            prefix = f"198.19.{(seed + i) % 200 + 20}"
            if f"{prefix}." not in used:
                return prefix
        raise RuntimeError("no free 198.19.x.0/24 test subnet")

    def _build(self, cpus: int) -> None:
        for i, leg in enumerate(("a", "b"), start=1):
            ns = f"e2ar-{self.tag}-{leg}"
            _run("ip", "netns", "add", ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            self.ns[leg], self.ips[leg] = ns, f"{self.subnet}.{i}"
        veth_a, veth_b = f"e2ra{self.tag}"[:15], f"e2rb{self.tag}"[:15]
        _run("ip", "link", "add", veth_a, "netns", self.ns["a"], "type", "veth", "peer", "name", veth_b,
             "netns", self.ns["b"])
        for leg, veth in (("a", veth_a), ("b", veth_b)):
            _run("ip", "-n", self.ns[leg], "addr", "add", f"{self.ips[leg]}/24", "dev", veth)
            _run("ip", "-n", self.ns[leg], "link", "set", veth, "up")
        self.start_node("a", cpus)
        self.start_node("b", cpus)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
        for key in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
            env.pop(key, None)
        return env

    def start_node(self, leg: str, cpus: int = 1) -> None:
        """``ray start`` in namespace ``leg``: the head in ``a``, a node joining it in ``b``."""
        temp = self.root / leg
        temp.mkdir(exist_ok=True)
        args = [RAY, "start", "--node-ip-address", self.ips[leg], "--num-cpus", str(cpus), "--num-gpus", "0",
                "--object-store-memory", str(100 * 1024 * 1024), "--disable-usage-stats", "--temp-dir", str(temp)]
        if leg == "a":
            args += ["--head", "--port", str(HEAD_PORT), "--include-dashboard=false"]
        else:
            args += ["--address", self.address]
        done = self.exec(leg, *args, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ray start on {leg} failed: {(done.stdout + done.stderr)[-1500:]}")

    def exec(self, leg: str, *argv: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
        return _run("ip", "netns", "exec", self.ns[leg], *argv, check=False, timeout=timeout, env=self.env(),
                    cwd=str(REPO), **kw)

    def popen(self, leg: str, *argv: str, **kw) -> subprocess.Popen:
        """A process inside namespace ``leg`` (``ip netns exec`` execs it: the pid is the process's own)."""
        return subprocess.Popen(["ip", "netns", "exec", self.ns[leg], *argv], env=self.env(), cwd=str(REPO), **kw)

    def pids(self, leg: str) -> list[int]:
        out = _run("ip", "netns", "pids", self.ns[leg], check=False).stdout.split()
        return [int(p) for p in out if p.isdigit()]

    def actor_pids(self, leg: str) -> list[int]:
        """Processes in ``leg`` that are our worker actors (by the process title Ray sets)."""
        found = []
        for pid in self.pids(leg):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith(ACTOR_TITLE):
                found.append(pid)
        return found

    def driver(self, code: str, timeout: float = 60) -> str:
        """Run ``code`` as a Ray driver on the head (``ray`` joined to the cluster in namespace e2a)."""
        prelude = (f"import ray\nray.init(address={self.address!r}, namespace='e2a', log_to_driver=False, "
                   "configure_logging=False)\n")
        done = self.exec("a", sys.executable, "-c", prelude + code, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"driver failed: {done.stderr[-1500:]}")
        return done.stdout

    def wait_nodes(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.driver("print(sum(1 for n in ray.nodes() if n['Alive']))")
            if int(out.strip().splitlines()[-1]) >= count:
                return
            time.sleep(0.5)
        raise RuntimeError(f"fewer than {count} Ray nodes alive after {timeout} s")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for ns in self.ns.values():
            for pid in _run("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        deadline = time.monotonic() + 10
        while any(self.pids(leg) for leg in self.ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        for ns in self.ns.values():
            _run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


_SHARED: dict[str, RayNodes] = {}


def shared_ray_nodes() -> RayNodes:
    """The session's two-node cluster, built on first use and torn down at exit."""
    skip_unless_ray_netns()
    nodes = _SHARED.get("nodes")
    if nodes is None:
        nodes = RayNodes.create()
        nodes.wait_nodes(2)
        _SHARED["nodes"] = nodes
    return nodes
