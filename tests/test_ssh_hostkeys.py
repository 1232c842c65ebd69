"""Host-key verification and login failures against real sshd: refused unless known, recorded only on request."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.netns import NsNet, write_inventory
from tests.support.netns import ssh_net  # noqa: F401 - fixture
from tui.ssh.cli import status_command
from tui.ssh.connection import HostKeyRefused, HostUnreachable, connect_host, run_command
from tui.ssh.inventory import load_inventory

pytestmark = pytest.mark.ssh


def _host(net: NsNet, tmp_path: Path, name: str = "h1"):
    return load_inventory(write_inventory(net, tmp_path / f"{name}.toml", (name,))).hosts[0]


async def _whoami(host) -> str:
    conn = await connect_host(host, attempts=1)
    try:
        return (await run_command(conn, host.name, "whoami", ["id", "-un"])).stdout.strip()
    finally:
        conn.close()


async def test_known_host_key_connects(ssh_net: NsNet, tmp_path: Path) -> None:
    assert await _whoami(_host(ssh_net, tmp_path)) == "root"


async def test_unknown_host_key_is_refused_with_the_way_to_trust_it(ssh_net: NsNet, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    host = load_inventory(write_inventory(ssh_net, tmp_path / "inv.toml", ("h1",), known_hosts=empty)).hosts[0]
    fingerprint = subprocess.run(["ssh-keygen", "-lf", "-"], input=ssh_net.hosts["h1"].host_key_pub,
                                 capture_output=True, text=True, check=True).stdout.split()[1]
    with pytest.raises(HostKeyRefused) as info:
        await connect_host(host, attempts=1)
    message = str(info.value)
    assert message.startswith("h1: host key for ") and "is not known" in message
    assert fingerprint in message and "--accept-new-host-keys" in message and "\n" not in message
    assert not empty.exists() or empty.read_text() == "", "nothing is recorded without the flag"


def test_cli_reports_an_unknown_host_key_and_exits_1(ssh_net: NsNet, tmp_path: Path) -> None:
    path = write_inventory(ssh_net, tmp_path / "inv.toml", ("h1",), known_hosts=tmp_path / "known_hosts")
    result = CliRunner().invoke(status_command, ["-i", str(path)])
    assert result.exit_code == 1
    row = result.stdout.splitlines()[1]
    assert row.split()[:2] == ["h1/cpu", "unreachable"] and "--accept-new-host-keys" in row
    assert not (tmp_path / "known_hosts").exists()


async def test_accept_new_host_keys_records_the_key_then_verifies_it(ssh_net: NsNet, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    host = load_inventory(write_inventory(ssh_net, tmp_path / "inv.toml", ("h2",), known_hosts=known)).hosts[0]
    events: list[tuple[str, str]] = []
    conn = await connect_host(host, accept_new_host_keys=True, attempts=1, on_event=lambda h, m: events.append((h, m)))
    conn.close()
    assert known.read_text() == f"{host.address} {ssh_net.hosts['h2'].host_key_pub}\n"
    assert events and events[0][0] == "h2" and events[0][1].startswith("recorded new host key ssh-ed25519 SHA256:")
    assert await _whoami(host) == "root"  # now known, no flag needed


async def test_changed_host_key_is_refused_even_with_the_flag(ssh_net: NsNet, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    h1 = ssh_net.hosts["h1"]
    known.write_text(f"{h1.address} {ssh_net.hosts['h3'].host_key_pub}\n")  # someone else's key on record
    host = load_inventory(write_inventory(ssh_net, tmp_path / "inv.toml", ("h1",), known_hosts=known)).hosts[0]
    with pytest.raises(HostKeyRefused) as info:
        await connect_host(host, accept_new_host_keys=True, attempts=1)
    message = str(info.value)
    assert "does not match the one in" in message and f"ssh-keygen -R '{h1.address}'" in message
    assert known.read_text() == f"{h1.address} {ssh_net.hosts['h3'].host_key_pub}\n", "the file is left alone"


async def test_unauthorised_key_and_closed_port_are_unreachable_with_reason(ssh_net: NsNet, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    path = write_inventory(ssh_net, tmp_path / "inv.toml", ("h1",), defaults={"identity_file": str(stranger)})
    with pytest.raises(HostUnreachable, match=r"^h1: .*:22 refused login as root with .*stranger$"):
        await connect_host(load_inventory(path).hosts[0], attempts=1)
    closed = write_inventory(ssh_net, tmp_path / "closed.toml", ("h1",), defaults={"port": 2222})
    with pytest.raises(HostUnreachable, match=r"connection refused by .*:2222 \(is sshd running on that port\?\)"):
        await connect_host(load_inventory(closed).hosts[0], attempts=1)


async def test_retries_with_backoff_until_sshd_answers(ssh_net: NsNet, tmp_path: Path) -> None:
    """A host whose sshd comes up a moment late is reached on a later attempt."""
    h3 = ssh_net.hosts["h3"]
    config = tmp_path / "sshd_config"
    base = (ssh_net.root / "h3" / "sshd_config").read_text()
    config.write_text(base.replace("Port 22", "Port 2200").replace(f"PidFile {ssh_net.root / 'h3' / 'sshd.pid'}",
                                                                   f"PidFile {tmp_path / 'sshd.pid'}"))
    path = write_inventory(ssh_net, tmp_path / "late.toml", ("h3",), defaults={"port": 2200},
                           known_hosts=tmp_path / "kh")
    (tmp_path / "kh").write_text(f"[{h3.address}]:2200 {h3.host_key_pub}\n")
    events: list[str] = []
    connecting = asyncio.create_task(connect_host(load_inventory(path).hosts[0], attempts=4,
                                                  on_event=lambda h, m: events.append(m)))
    while not events:  # the first attempt has been refused
        await asyncio.sleep(0.05)
    late = subprocess.Popen(["ip", "netns", "exec", h3.ns, "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = await asyncio.wait_for(connecting, 60)
        conn.close()
        assert "retrying in" in events[0] and "connection refused" in events[0]
    finally:
        late.kill()
        late.wait()
