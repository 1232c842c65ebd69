"""Test hosts: real OpenSSH ``sshd`` in network namespaces on a private bridge.

Each "host" is a network namespace with its own loopback and one veth leg on a
bridge in a benchmarking subnet (198.18.0.0/15) that exists only on this
machine; there is no default route, so the hosts cannot reach the internet.
They share the file system, so each gets its own workdir. Building this costs
a second; bootstrapping workers on it costs more, so the bed, the test
wheelhouse and the first bootstrap are made once per test session and shared
by every ``test_ssh_*`` module.
"""

from __future__ import annotations

import atexit
import hashlib
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

__all__ = [
    "NsHost",
    "NsNet",
    "skip_unless_netns",
    "shared_net",
    "ensure_wheelhouse",
    "write_inventory",
    "bootstrapped",
]

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
HOST_NAMES = ("h1", "h2", "h3")


def _run(*argv: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)


def skip_unless_netns() -> None:
    """Skip (with the reason) unless this is root with sshd, ip and ssh-keygen."""
    if os.geteuid() != 0:
        pytest.skip("SSH host tests need root (network namespaces)")
    for tool in (SSHD, shutil.which("ip"), shutil.which("ssh-keygen")):
        if not tool or not os.path.exists(tool):
            pytest.skip("SSH host tests need openssh-server, openssh-client and iproute2")


def _scratch_dir() -> Optional[str]:
    """tmpfs when it has room: the hosts' venvs are ~20k files, and deleting them on a disk mounted
    with ``discard`` takes half a minute."""
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    return shm if stats.f_bavail * stats.f_frsize > 4 * 1024**3 else None


def _reap_stale() -> None:
    """Remove what a killed earlier run left: namespaces, bridge, sshd and workers, scratch files.

    Everything is named after the creating process's pid (``e2a-<pid>-<host>``), so a name whose pid
    is gone belongs to nobody.
    """
    listed = _run("ip", "netns", "list", check=False).stdout.split("\n")
    stale: set[str] = set()
    for line in listed:
        parts = line.split()
        if not parts:
            continue
        bits = parts[0].split("-")
        if len(bits) == 3 and bits[0] == "e2a" and bits[1].isdigit() and not Path(f"/proc/{bits[1]}").exists():
            stale.add(bits[1])
            for pid in _run("ip", "netns", "pids", parts[0], check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _run("ip", "netns", "del", parts[0], check=False)
    for tag in stale:
        _run("ip", "link", "del", f"e2ab{tag}", check=False)
        for base in {tempfile.gettempdir(), _scratch_dir() or tempfile.gettempdir()}:
            for leftover in Path(base).glob(f"e2a-netns-{tag}-*"):
                shutil.rmtree(leftover, ignore_errors=True)


@dataclass
class NsHost:
    name: str
    ns: str
    address: str
    veth: str  # the bridge-side leg; setting it down cuts the host off
    workdir: Path
    host_key_pub: str
    sshd: Optional[subprocess.Popen] = None

    def netns_pids(self) -> list[int]:
        out = _run("ip", "netns", "pids", self.ns, check=False).stdout.split()
        return [int(p) for p in out if p.isdigit()]

    def worker_pids(self) -> list[int]:
        """PIDs in this namespace whose command line runs the worker."""
        found = []
        for pid in self.netns_pids():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "remote_worker" in cmd:
                found.append(pid)
        return found

    def exec(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a command inside the host's namespace."""
        return _run("ip", "netns", "exec", self.ns, *argv, check=False, timeout=timeout, cwd="/")


@dataclass
class NsNet:
    root: Path
    tag: str
    bridge: str
    subnet: str
    client_key: Path
    known_hosts: Path
    hosts: dict[str, NsHost] = field(default_factory=dict)
    _closed: bool = False

    # --- building -------------------------------------------------------------------------
    @classmethod
    def create(cls, names: tuple[str, ...] = HOST_NAMES) -> "NsNet":
        _reap_stale()
        tag = f"{os.getpid() % 100000}"
        root = Path(tempfile.mkdtemp(prefix=f"e2a-netns-{tag}-", dir=_scratch_dir()))
        os.chmod(root, 0o755)
        net = cls(root=root, tag=tag, bridge=f"e2ab{tag}", subnet="", client_key=root / "client_key",
                  known_hosts=root / "known_hosts")
        atexit.register(net.close)
        try:
            net._build(names)
        except Exception:
            net.close()
            raise
        return net

    def _free_subnet(self) -> str:
        for third in range(int(self.tag) % 200 + 20, 256):
            prefix = f"198.18.{third}"
            if f"{prefix}." not in _run("ip", "-4", "addr", "show").stdout:
                return prefix
        raise RuntimeError("no free 198.18.x.0/24 test subnet")

    def _build(self, names: tuple[str, ...]) -> None:
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2a-test-client", "-f", str(self.client_key))
        auth = self.root / "authorized"
        auth.mkdir(mode=0o755)
        shutil.copy(f"{self.client_key}.pub", auth / "root")
        self.subnet = self._free_subnet()
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        route = _run("ip", "route", "get", f"{self.subnet}.11").stdout
        if f"dev {self.bridge}" not in route:
            raise RuntimeError(f"test subnet {self.subnet}.0/24 does not route to {self.bridge}: {route}")
        known_lines = []
        for i, name in enumerate(names, start=1):
            host = self._add_host(name, i)
            self.hosts[name] = host
            known_lines.append(f"{host.address} {host.host_key_pub}")
        self.known_hosts.write_text("\n".join(known_lines) + "\n")
        for host in self.hosts.values():
            self._wait_sshd(host)

    def _add_host(self, name: str, index: int) -> NsHost:
        ns = f"e2a-{self.tag}-{name}"
        veth, peer = f"e2v{self.tag}{index}", f"e2p{self.tag}{index}"
        address = f"{self.subnet}.{10 + index}"
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
        _run("ip", "link", "set", veth, "master", self.bridge)
        _run("ip", "link", "set", veth, "up")
        _run("ip", "link", "set", peer, "netns", ns)
        _run("ip", "-n", ns, "link", "set", peer, "name", "eth0")
        _run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        _run("ip", "-n", ns, "link", "set", "eth0", "up")
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        hdir = self.root / name
        hdir.mkdir()
        key = hdir / "ssh_host_ed25519_key"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}-host", "-f", str(key))
        pub = " ".join(Path(f"{key}.pub").read_text().split()[:2])
        config = hdir / "sshd_config"
        config.write_text("\n".join([
            "Port 22",
            f"ListenAddress {address}",
            f"HostKey {key}",
            f"PidFile {hdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.root / 'authorized'}/%u",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "UseDNS no",
            "AllowTcpForwarding yes",
            "MaxSessions 50",
            "MaxStartups 50",
            "Subsystem sftp internal-sftp",
            "",
        ]))
        log = open(hdir / "sshd.log", "wb")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, SSHD, "-D", "-e", "-f", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        workdir = hdir / "work"
        return NsHost(name=name, ns=ns, address=address, veth=veth, workdir=workdir, host_key_pub=pub, sshd=proc)

    def _wait_sshd(self, host: NsHost) -> None:
        log = self.root / host.name / "sshd.log"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "Server listening on" in log.read_text(errors="replace"):
                return
            if host.sshd is not None and host.sshd.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"sshd for {host.name} did not start: {log.read_text(errors='replace')[-500:]}")

    # --- what tests use -------------------------------------------------------------------
    def cut_link(self, name: str) -> None:
        """Take the host's bridge leg down: packets vanish, nothing is refused (a dead link, not a closed port)."""
        _run("ip", "link", "set", self.hosts[name].veth, "down")

    def restore_link(self, name: str) -> None:
        _run("ip", "link", "set", self.hosts[name].veth, "up")

    def reboot(self, name: str) -> None:
        """Every process of the host dies (workers, sshd, its sessions), then sshd comes back: a reboot."""
        host = self.hosts[name]
        for pid in host.netns_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if host.sshd is not None:
            host.sshd.wait(timeout=20)
        deadline = time.monotonic() + 20
        while host.netns_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        hdir = self.root / name
        log = open(hdir / "sshd.log", "wb")
        host.sshd = subprocess.Popen(["ip", "netns", "exec", host.ns, SSHD, "-D", "-e", "-f", str(hdir / "sshd_config")],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self._wait_sshd(host)

    def pids(self, name: str) -> list[int]:
        return self.hosts[name].netns_pids()

    def worker_pids(self, name: str) -> list[int]:
        return self.hosts[name].worker_pids()

    def kill_workers(self) -> None:
        for host in self.hosts.values():
            for pid in host.worker_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for host in self.hosts.values():
            for pid in host.netns_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if host.sshd is not None:
                try:
                    host.sshd.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            _run("ip", "netns", "del", host.ns, check=False)
        _run("ip", "link", "del", self.bridge, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def write_inventory(
    net: NsNet,
    path: Path,
    names: tuple[str, ...] = ("h1", "h2"),
    *,
    known_hosts: Optional[Path] = None,
    defaults: Optional[dict] = None,
    per_host: Optional[dict[str, dict]] = None,
) -> Path:
    """An inventory for the test hosts; every host runs the test interpreter as root."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    base = {
        "user": "root",
        "identity_file": str(net.client_key),
        "known_hosts": str(known_hosts or net.known_hosts),
        "python": sys.executable,
        "threads": 1,
        "env": {"OMP_NUM_THREADS": "1"},
    }
    base.update(defaults or {})
    lines = ["[defaults]"] + [f"{k} = {value(v)}" for k, v in base.items()]
    for name in names:
        host = net.hosts[name]
        entry = {"name": name, "address": host.address, "workdir": str(host.workdir)}
        entry.update((per_host or {}).get(name, {}))
        lines += ["", "[[hosts]]"] + [f"{k} = {value(v)}" for k, v in entry.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _requirements() -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    return list(data["project"]["dependencies"])


def ensure_wheelhouse() -> Path:
    """Every dependency as a wheel, built once (``$E2A_TEST_WHEELHOUSE`` or a cache under /tmp).

    This is the one step that needs the package index; the test hosts then
    install from it with no route out.
    """
    reqs = _requirements()
    env_dir = os.environ.get("E2A_TEST_WHEELHOUSE")
    digest = hashlib.sha256(("\n".join(reqs) + sys.version).encode()).hexdigest()[:12]
    target = Path(env_dir) if env_dir else Path(tempfile.gettempdir()) / f"e2a-wheelhouse-{digest}"
    if target.is_dir() and any(target.glob("*.whl")):
        return target
    staging = Path(tempfile.mkdtemp(prefix="e2a-wheelhouse-build-", dir=target.parent))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w", str(staging), *reqs],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.skip(f"cannot build the test wheelhouse (needs the package index): {proc.stderr.strip()[-300:]}")
    try:
        staging.rename(target)
    except OSError:  # built concurrently elsewhere; use that one
        shutil.rmtree(staging, ignore_errors=True)
    return target


_SHARED: dict[str, object] = {}


def shared_net() -> NsNet:
    """The session's test hosts, built on first use and torn down at exit."""
    skip_unless_netns()
    net = _SHARED.get("net")
    if net is None:
        net = NsNet.create()
        _SHARED["net"] = net
    return net  # type: ignore[return-value]


def bootstrapped(net: NsNet, wheelhouse: Path) -> tuple[Path, list]:
    """Inventory for h1+h2 and the recaps of the session's first bootstrap (run once, shared)."""
    cached = _SHARED.get("bootstrapped")
    if cached is None:
        import asyncio

        from tui.ssh import commands
        from tui.ssh.inventory import load_inventory

        path = write_inventory(net, net.root / "inventory.toml")
        recaps = asyncio.run(commands.bootstrap(load_inventory(path), wheelhouse=wheelhouse))
        cached = (path, recaps)
        _SHARED["bootstrapped"] = cached
    return cached  # type: ignore[return-value]


# Module-scoped fixtures shared by the SSH test modules (import them by name).

@pytest.fixture(scope="module")
def ssh_net() -> NsNet:
    return shared_net()


@pytest.fixture(scope="module")
def wheelhouse_dir() -> Path:
    return ensure_wheelhouse()


@pytest.fixture(scope="module")
def inventory_path(ssh_net: NsNet, wheelhouse_dir: Path) -> Path:
    """An inventory of h1 and h2, bootstrapped once per module."""
    path, _ = bootstrapped(ssh_net, wheelhouse_dir)
    return path
