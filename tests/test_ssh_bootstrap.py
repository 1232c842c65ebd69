"""bootstrap / status / logs / stop against real sshd hosts in network namespaces.

The hosts have no route out: everything they install comes from the wheelhouse
uploaded over SSH. Tests run in file order on shared hosts (one bootstrap per
session); the last one stops every worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.netns import NsNet, bootstrapped, write_inventory
from tests.support.netns import inventory_path, ssh_net, wheelhouse_dir  # noqa: F401 - fixtures
from tui.ssh import commands
from tui.ssh.cli import bootstrap_command, logs_command, status_command, stop_command
from tui.ssh.inventory import load_inventory

# the first test of a module may build the wheelhouse and bootstrap the hosts
pytestmark = [pytest.mark.ssh, pytest.mark.slow, pytest.mark.timeout(900)]


HOSTS = ("h1", "h2")


def _pid_file(net: NsNet, name: str) -> int:
    return int((net.hosts[name].workdir / "workers" / "cpu" / "worker.pid").read_text())


def test_first_bootstrap_installs_offline_and_starts_one_worker_per_host(
        ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path) -> None:
    _, recaps = bootstrapped(ssh_net, wheelhouse_dir)
    assert [(r.host, r.state, r.step) for r in recaps] == [("h1", "changed", None), ("h2", "changed", None)]
    local_wheels = sorted(p.name for p in wheelhouse_dir.glob("*.whl"))
    for recap, name in zip(recaps, HOSTS, strict=True):
        host = ssh_net.hosts[name]
        assert recap.changes[0].startswith("installed e2a-tui ")
        assert recap.changes[1:] == [f"started {name}/cpu"]
        assert recap.workers == [f"{name}/cpu"]
        # the host really has no way out: whatever it installed came through SSH
        route = host.exec("ip", "route", "get", "1.1.1.1")
        assert route.returncode != 0 and "unreachable" in route.stderr.lower()
        assert sorted(p.name for p in (host.workdir / "wheelhouse").glob("*.whl")) == local_wheels
        where = host.exec(str(host.workdir / "venv" / "bin" / "python"), "-c",
                          "import remote_worker, sys; print(remote_worker.__file__); print(sys.prefix)")
        assert where.returncode == 0, where.stderr
        module_file, prefix = where.stdout.split()
        assert module_file.startswith(str(host.workdir / "venv")) and prefix == str(host.workdir / "venv")
        wdir = host.workdir / "workers" / "cpu"
        assert stat.S_IMODE((wdir / "token").stat().st_mode) == 0o600
        assert len((wdir / "token").read_text().strip()) >= 32
        assert ssh_net.worker_pids(name) == [_pid_file(ssh_net, name)]
        assert "E2A_WORKER_PORT=8001" in (wdir / "worker.log").read_text()


def test_second_bootstrap_installs_nothing_and_restarts_nothing(
        ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path) -> None:
    before = {n: (_pid_file(ssh_net, n), (ssh_net.hosts[n].workdir / "installed.json").stat().st_mtime_ns,
                  (ssh_net.hosts[n].workdir / "workers" / "cpu" / "token").read_text())
              for n in HOSTS}
    result = CliRunner().invoke(bootstrap_command, ["-i", str(inventory_path), "--wheelhouse", str(wheelhouse_dir)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["h1", "ok"] and "nothing to do" in line for line in lines), result.stdout
    assert any(line.split()[:2] == ["h2", "ok"] and "nothing to do" in line for line in lines), result.stdout
    assert "ok=2  changed=0  failed=0  unreachable=0" in result.stdout
    assert "uploading" not in result.output and "starting" not in result.output
    after = {n: (_pid_file(ssh_net, n), (ssh_net.hosts[n].workdir / "installed.json").stat().st_mtime_ns,
                 (ssh_net.hosts[n].workdir / "workers" / "cpu" / "token").read_text())
             for n in HOSTS}
    assert after == before
    for name in HOSTS:
        assert ssh_net.worker_pids(name) == [before[name][0]]


def test_status_lists_every_worker_healthy(ssh_net: NsNet, inventory_path: Path) -> None:
    rows = asyncio.run(commands.status(load_inventory(inventory_path)))
    assert [(r.host, r.worker, r.state, r.remote_port) for r in rows] == [
        ("h1", "h1/cpu", "healthy", 8001), ("h2", "h2/cpu", "healthy", 8001)]
    for row in rows:
        assert row.pid == _pid_file(ssh_net, row.host)
        assert row.engine == "piper" and row.device == "cpu"
        assert row.gpu_memory_total_mb is None  # no GPU on these hosts, and none is invented
    result = CliRunner().invoke(status_command, ["-i", str(inventory_path)])
    assert result.exit_code == 0, result.output
    table = result.stdout.splitlines()
    assert table[0].split()[:4] == ["WORKER", "STATE", "PORT", "PID"]
    assert [line.split()[:6] for line in table[1:]] == [
        ["h1/cpu", "healthy", "8001", str(rows[0].pid), "piper", "cpu"],
        ["h2/cpu", "healthy", "8001", str(rows[1].pid), "piper", "cpu"],
    ]


def test_workers_listen_on_loopback_only(ssh_net: NsNet, inventory_path: Path) -> None:
    for name in HOSTS:
        host = ssh_net.hosts[name]
        listening = host.exec("ss", "-ltnH")
        assert listening.returncode == 0, listening.stderr
        local_addresses = [line.split()[3] for line in listening.stdout.splitlines()]
        worker_sockets = [addr for addr in local_addresses if addr.endswith(":8001")]
        assert worker_sockets == ["127.0.0.1:8001"]
        # from this machine (the other side of the bridge): refused
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host.address, 8001), timeout=5).close()
        # from the host itself, on its own network address: refused; on its loopback: the worker answers
        probe = (
            "import socket, sys, urllib.request\n"
            "try:\n"
            f"    socket.create_connection(({host.address!r}, 8001), timeout=5).close(); print('open')\n"
            "except ConnectionRefusedError:\n"
            "    print('refused')\n"
            "print(urllib.request.urlopen('http://127.0.0.1:8001/health', timeout=10).status)\n"
        )
        out = host.exec(shutil.which("python3") or "python3", "-c", probe)
        assert out.stdout.split() == ["refused", "200"], out.stdout + out.stderr


def test_logs_shows_each_worker_log(ssh_net: NsNet, inventory_path: Path) -> None:
    result = CliRunner().invoke(logs_command, ["-i", str(inventory_path), "h1", "-n", "50"])
    assert result.exit_code == 0, result.output
    log = ssh_net.hosts["h1"].workdir / "workers" / "cpu" / "worker.log"
    assert result.stdout.splitlines()[0] == f"==> h1/cpu ({log}) <=="
    assert "E2A_WORKER_PORT=8001" in result.stdout
    unknown = CliRunner().invoke(logs_command, ["-i", str(inventory_path), "nohost"])
    assert unknown.exit_code == 2
    assert "no host named 'nohost' (hosts: h1, h2)" in unknown.output


def test_dead_worker_is_restarted_and_only_it(ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path) -> None:
    old_h1, old_h2 = _pid_file(ssh_net, "h1"), _pid_file(ssh_net, "h2")
    os.kill(old_h1, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while old_h1 in ssh_net.worker_pids("h1") and time.monotonic() < deadline:
        time.sleep(0.05)
    recaps = asyncio.run(commands.bootstrap(load_inventory(inventory_path), wheelhouse=wheelhouse_dir))
    assert [(r.host, r.state, r.changes) for r in recaps] == [
        ("h1", "changed", ["restarted h1/cpu (was not running)"]), ("h2", "ok", [])]
    new_h1 = _pid_file(ssh_net, "h1")
    assert new_h1 != old_h1 and ssh_net.worker_pids("h1") == [new_h1]
    assert ssh_net.worker_pids("h2") == [old_h2]


def test_changed_settings_restart_only_that_worker(ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path,
                                                   tmp_path: Path) -> None:
    h1_pid = _pid_file(ssh_net, "h1")
    changed = write_inventory(ssh_net, tmp_path / "threads.toml", HOSTS, per_host={"h2": {"threads": 2}})
    recaps = asyncio.run(commands.bootstrap(load_inventory(changed), wheelhouse=wheelhouse_dir))
    assert [(r.host, r.state, r.changes) for r in recaps] == [
        ("h1", "ok", []), ("h2", "changed", ["restarted h2/cpu (settings changed)"])]
    h2_pid = _pid_file(ssh_net, "h2")
    cmdline = Path(f"/proc/{h2_pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[cmdline.index(b"--threads") + 1] == b"2"
    assert _pid_file(ssh_net, "h1") == h1_pid
    back = asyncio.run(commands.bootstrap(load_inventory(inventory_path), wheelhouse=wheelhouse_dir))
    assert [(r.host, r.state) for r in back] == [("h1", "ok"), ("h2", "changed")]


def test_failures_are_reported_per_host_with_step_and_output(
        ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial-wheelhouse"
    partial.mkdir()
    for wheel in wheelhouse_dir.glob("click-*.whl"):
        shutil.copy(wheel, partial)
    h3 = ssh_net.hosts["h3"]
    path = write_inventory(ssh_net, tmp_path / "mixed.toml", ("h1", "h3"))
    text = path.read_text() + "\n".join([
        "", "[[hosts]]", 'name = "h3-gpu"', f'address = "{h3.address}"', f'workdir = "{tmp_path / "w-gpu"}"',
        "gpus = [0]",
        "", "[[hosts]]", 'name = "h3-nopython"', f'address = "{h3.address}"', 'python = "/nonexistent/python3"',
        f'workdir = "{tmp_path / "w-np"}"',
        "", "[[hosts]]", 'name = "h3-closed"', f'address = "{h3.address}"', "port = 2222", "",
    ])
    path.write_text(text)
    result = CliRunner().invoke(bootstrap_command, ["-i", str(path), "--wheelhouse", str(partial), "-q"])
    assert result.exit_code == 1, result.output
    out = result.stdout
    lines = out.splitlines()

    def line_of(host: str) -> str:
        return next(line for line in lines if line.split()[:1] == [host])

    assert line_of("h1").split()[1] == "ok"
    h3_line = line_of("h3")
    assert h3_line.split()[1:5] == ["failed", "at", "pip", "install:"] and "ERROR:" in h3_line
    h3_output = lines[lines.index(h3_line) + 1:]
    assert any("No matching distribution found" in line or "Could not find a version" in line
               for line in h3_output[:10]), out
    gpu_line = line_of("h3-gpu")
    assert gpu_line.split()[1:4] == ["failed", "at", "preflight:"]
    assert "GPU(s) 0 listed but this host has no NVIDIA driver" in gpu_line
    assert "python '/nonexistent/python3' not found" in line_of("h3-nopython")
    closed = line_of("h3-closed")
    assert closed.split()[1:4] == ["unreachable", "at", "connect:"] and "connection refused" in closed
    assert "ok=1  changed=0  failed=3  unreachable=1" in out
    # nothing half-done is marked installed on the failed host
    assert not (h3.workdir / "installed.json").exists()
    assert json.loads((ssh_net.hosts["h1"].workdir / "installed.json").read_text())["key"]


def test_stop_leaves_no_worker_process_behind(ssh_net: NsNet, inventory_path: Path) -> None:
    sshd_pids = {n: {ssh_net.hosts[n].sshd.pid} for n in HOSTS}
    assert all(ssh_net.worker_pids(n) for n in HOSTS)
    result = CliRunner().invoke(stop_command, ["-i", str(inventory_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "stopped h1/cpu" in result.stdout and "stopped h2/cpu" in result.stdout
    for name in HOSTS:
        assert ssh_net.worker_pids(name) == []
        deadline = time.monotonic() + 10  # sshd's per-session processes exit just after the client leaves
        while set(ssh_net.pids(name)) != sshd_pids[name] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(ssh_net.pids(name)) == sshd_pids[name], "only sshd is left in the host's namespace"
        assert not (ssh_net.hosts[name].workdir / "workers" / "cpu" / "worker.pid").exists()
    status = CliRunner().invoke(status_command, ["-i", str(inventory_path)])
    assert status.exit_code == 1
    rows = [line.split()[:2] for line in status.stdout.splitlines()[1:]]
    assert rows == [["h1/cpu", "stopped"], ["h2/cpu", "stopped"]]
    again = CliRunner().invoke(stop_command, ["-i", str(inventory_path), "-q"])
    assert again.exit_code == 0 and "ok=2  changed=0" in again.stdout
