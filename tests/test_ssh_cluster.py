"""SshCluster against real sshd hosts: forwards, tokens, a cut link, reconnect, and whole books."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.netns import NsNet, write_inventory
from tests.support.netns import inventory_path, ssh_net, wheelhouse_dir  # noqa: F401 - fixtures
from tui.core.cluster import ClusterError, WorkerSource
from tui.ssh.cluster import SshCluster
from tui.ssh.connection import KEEPALIVE_COUNT_MAX, KEEPALIVE_INTERVAL
from tui.ssh.inventory import load_inventory

# the first test of a module may build the wheelhouse and bootstrap the hosts
pytestmark = [pytest.mark.ssh, pytest.mark.slow, pytest.mark.timeout(900)]


class _Events:
    """Collects on_event calls and lets a test wait for one."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self._changed = asyncio.Event()

    def __call__(self, host: str, message: str) -> None:
        self.seen.append((host, message))
        self._changed.set()

    async def wait_for(self, host: str, text: str, timeout: float) -> float:
        """Seconds until a message from ``host`` containing ``text`` arrives."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + timeout
        while not any(h == host and text in m for h, m in self.seen):
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {text!r} from {host} within {timeout} s; saw {self.seen}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return loop.time() - start


async def _get(url: str, token: str | None = None, timeout: float = 10.0) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(trust_env=False, timeout=timeout) as http:
        return await http.get(url, headers=headers)


async def test_cluster_forwards_each_worker_with_its_token(ssh_net: NsNet, wheelhouse_dir: Path,
                                                           inventory_path: Path) -> None:
    events = _Events()
    cluster = SshCluster(load_inventory(inventory_path), wheelhouse=wheelhouse_dir, on_event=events)
    assert isinstance(cluster, WorkerSource)
    endpoints = await cluster.start()
    try:
        assert sorted((e.name, e.host) for e in endpoints) == [("h1/cpu", "h1"), ("h2/cpu", "h2")]
        for ep in endpoints:
            assert ep.base_url.startswith("http://127.0.0.1:") and ep.token
            assert ep.token not in repr(ep)
            token_file = ssh_net.hosts[ep.host].workdir / "workers" / "cpu" / "token"
            assert ep.token == token_file.read_text().strip()
            health = await _get(ep.base_url + "/health")
            assert health.status_code == 200 and health.json()["status"] == "healthy"
            assert (await _get(ep.base_url + "/status")).status_code == 401
            status = await _get(ep.base_url + "/status", ep.token)
            assert status.status_code == 200 and status.json()["engine"] == "piper"
        assert len({e.base_url for e in endpoints}) == 2
    finally:
        await cluster.stop()
    for ep in endpoints:  # forwards closed ...
        with pytest.raises(httpx.ConnectError):
            await _get(ep.base_url + "/health", timeout=3)
    for name in ("h1", "h2"):  # ... workers left running for the next run
        assert ssh_net.worker_pids(name)


async def test_cut_link_is_seen_within_seconds_and_the_forward_comes_back(
        ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path) -> None:
    events = _Events()
    cluster = SshCluster(load_inventory(inventory_path), bootstrap=False, on_event=events)
    endpoints = {e.name: e for e in await cluster.start()}
    h2 = endpoints["h2/cpu"]
    try:
        ssh_net.cut_link("h2")
        # the issue asks for a dead host to be seen within seconds: keepalive interval x (count + 1), plus slack
        seen_after = await events.wait_for("h2", "connection lost", timeout=60)
        assert seen_after < KEEPALIVE_INTERVAL * (KEEPALIVE_COUNT_MAX + 1) + 5, seen_after
        assert not cluster.is_connected("h2") and cluster.is_connected("h1")
        with pytest.raises(httpx.ConnectError):  # refused at once, not a hang
            await _get(h2.base_url + "/health", timeout=3)
        h1 = endpoints["h1/cpu"]
        assert (await _get(h1.base_url + "/status", h1.token)).status_code == 200
        ssh_net.restore_link("h2")
        await events.wait_for("h2", "reconnected", timeout=90)
        assert cluster.is_connected("h2")
        again = await _get(h2.base_url + "/status", h2.token)  # same URL, same token
        assert again.status_code == 200 and again.json()["engine"] == "piper"
    finally:
        ssh_net.restore_link("h2")
        await cluster.stop()


async def test_unreachable_host_is_reported_and_skipped(ssh_net: NsNet, inventory_path: Path,
                                                       tmp_path: Path) -> None:
    path = write_inventory(ssh_net, tmp_path / "inv.toml", ("h1", "h3"), per_host={"h3": {"port": 2222}})
    events = _Events()
    cluster = SshCluster(load_inventory(path), bootstrap=False, on_event=events)
    endpoints = await cluster.start()
    try:
        assert [e.name for e in endpoints] == ["h1/cpu"]
        assert any(h == "h3" and m.startswith("unreachable:") and "connection refused" in m for h, m in events.seen)
        assert [(r.host, r.state) for r in cluster.recaps] == [("h1", "ok"), ("h3", "unreachable")]
    finally:
        await cluster.stop()

    only_dead = write_inventory(ssh_net, tmp_path / "dead.toml", ("h3",), defaults={"port": 2222})
    with pytest.raises(ClusterError, match=r"^no remote worker is available \(h3: unreachable at connect: "):
        await SshCluster(load_inventory(only_dead), bootstrap=False).start()


async def test_without_bootstrap_a_host_with_no_running_worker_gives_none(ssh_net: NsNet, inventory_path: Path,
                                                                          tmp_path: Path) -> None:
    path = write_inventory(ssh_net, tmp_path / "inv.toml", ("h3",))  # h3 was never bootstrapped
    events = _Events()
    with pytest.raises(ClusterError, match="no worker is running on this host"):
        await SshCluster(load_inventory(path), bootstrap=False, on_event=events).start()
    assert ("h3", "h3/cpu is not running (run bootstrap)") in events.seen


def _probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


async def test_book_converts_across_the_hosts(ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path,
                                              sample_epub: Path, tmp_path: Path) -> None:
    run = pytest.importorskip("tui.core.session")
    from tui.core.options import RunOptions
    from tui.core.scheduler import SchedulerConfig

    output = tmp_path / "book.m4b"
    cluster = SshCluster(load_inventory(inventory_path), wheelhouse=wheelhouse_dir)
    result = await run.run_book(
        RunOptions(input=sample_epub, output=output, unit_chars=300,
                       scheduler=SchedulerConfig(backoff_base=0.05, backoff_max=0.5, reprobe_after=0.5)),
        cluster)
    assert result.ok, result.error
    assert {w for w, stats in result.per_worker.items() if stats.get("units")} == {"h1/cpu", "h2/cpu"}
    info = _probe(output)
    assert len(info["chapters"]) == 3
    assert abs(float(info["format"]["duration"]) - result.audio_seconds) < 1.0


async def test_cutting_a_host_mid_run_still_completes_the_book(ssh_net: NsNet, wheelhouse_dir: Path,
                                                              inventory_path: Path, sample_epub: Path,
                                                              tmp_path: Path) -> None:
    run = pytest.importorskip("tui.core.session")
    from tui.core.options import RunOptions
    from tui.core.events import (ATTEMPT_ENDINGS, AttemptLost, EventBus, HostPhase, HostRecapped, UnitStarted,
                                 WorkerStateChanged)
    from tui.core.scheduler import SchedulerConfig

    output = tmp_path / "cut.m4b"
    ssh_events = _Events()
    cluster = SshCluster(load_inventory(inventory_path), wheelhouse=wheelhouse_dir, on_event=ssh_events)
    bus = EventBus()
    cut: list[str] = []
    down: list[WorkerStateChanged] = []
    seen: list[object] = []

    def on_event(event: object) -> None:
        seen.append(event)
        # cut at h2's first unit: that unit is in flight on a dead link, and the rest of the book
        # (all of it on h1) outlasts keepalive's detection, so the loss is seen during the run
        if isinstance(event, UnitStarted) and event.worker == "h2/cpu" and not cut:
            cut.append(event.unit_id)
            ssh_net.cut_link("h2")
        if isinstance(event, WorkerStateChanged) and event.state == "down":
            down.append(event)

    bus.subscribe(on_event)
    try:
        result = await run.run_book(
            RunOptions(input=sample_epub, output=output, unit_chars=300,
                           scheduler=SchedulerConfig(backoff_base=0.05, backoff_max=0.5, reprobe_after=0.5)),
            cluster, bus=bus)
    finally:
        ssh_net.restore_link("h2")
    assert cut, "the test never saw a unit start on h2"
    assert result.ok, result.error
    assert len(_probe(output)["chapters"]) == 3
    assert any(h == "h2" and "connection lost" in m for h, m in ssh_events.seen), "the lost host is reported"
    assert any(s.worker == "h2/cpu" for s in down)
    # the unit lost with h2 was requeued: every unit of the book came from h1
    assert result.per_worker.get("h1/cpu", {}).get("units", 0) == result.units_total
    assert result.per_worker.get("h2/cpu", {}).get("units", 0) == 0
    # typed bootstrap phases and a recap per host, published as each host finished
    for host in ("h1", "h2"):
        phases = [e.phase for e in seen if isinstance(e, HostPhase) and e.host == host]
        assert phases[0] == "connect" and "preflight" in phases and phases[-1] == "healthy", phases
        assert [e.state for e in seen if isinstance(e, HostRecapped) and e.host == host] in (["ok"], ["changed"])
    # the unit in flight on the cut link ended as lost, and every attempt ended exactly once
    assert any(isinstance(e, AttemptLost) and e.unit_id == cut[0] for e in seen)
    started = [e.attempt_id for e in seen if isinstance(e, UnitStarted)]
    ended = [e.attempt_id for e in seen if isinstance(e, ATTEMPT_ENDINGS)]
    assert sorted(started) == sorted(ended) and len(set(ended)) == len(ended)


def test_cli_converts_on_the_inventory_hosts_and_resumes(ssh_net: NsNet, inventory_path: Path, wheelhouse_dir: Path,
                                                         sample_epub: Path, tmp_path: Path) -> None:
    import asyncio
    import sys

    from tui.ssh import commands

    # --no-bootstrap uses the workers that run: start them here, whatever earlier tests left behind
    recaps = asyncio.run(commands.bootstrap(load_inventory(inventory_path), wheelhouse=wheelhouse_dir))
    assert all(r.ok for r in recaps), [(r.host, r.state, r.message) for r in recaps]
    output = tmp_path / "cli.m4b"
    cmd = [sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o", str(output),
           "-i", str(inventory_path), "--no-bootstrap", "--unit-chars", "300"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "h1/cpu:" in first.stdout and "h2/cpu:" in first.stdout
    assert len(_probe(output)["chapters"]) == 3
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert ", 0 synthesized," in again.stdout and "reused" in again.stdout


async def _pause_through(ssh_net: NsNet, wheelhouse_dir: Path, inventory_path: Path, sample_epub: Path,
                         tmp_path: Path, name: str, fault) -> None:
    """Run the book; after h2 finished a unit, pause, apply ``fault`` to h2, wait until h2 is back, resume:
    the book completes and h2 does units again after it came back."""
    from tests.support.session_helpers import Recorder
    from tui.core import commands as cmd
    from tui.core import events as ev
    from tui.core.options import RunOptions
    from tui.core.scheduler import SchedulerConfig
    from tui.core.session import RunSession

    output = tmp_path / f"{name}.m4b"
    cluster = SshCluster(load_inventory(inventory_path), wheelhouse=wheelhouse_dir)
    session = RunSession(RunOptions(input=sample_epub, output=output, unit_chars=200,
                                    scheduler=SchedulerConfig(backoff_base=0.05, backoff_max=0.5, reprobe_after=0.5)),
                         cluster)
    rec = Recorder()
    session.subscribe(rec)
    run = asyncio.ensure_future(session.run())
    try:
        await rec.wait_for(lambda e: isinstance(e, ev.UnitDone) and e.worker == "h2/cpu")
        session.send(cmd.Pause())
        before = ssh_net.worker_pids("h2")
        await asyncio.to_thread(fault)
        await rec.wait_for(lambda e: isinstance(e, ev.WorkerStateChanged) and e.worker == "h2/cpu"
                           and e.state == "down", timeout=60)
        await rec.wait_for(lambda e: isinstance(e, ev.Notice) and e.message == "h2: reconnected", timeout=120)
        await rec.wait_for(lambda e: isinstance(e, ev.WorkerStateChanged) and e.worker == "h2/cpu"
                           and e.state == "up" and e.reason == "back", timeout=60)
        resumed = len(rec.events)
        session.send(cmd.Resume())
        result = await asyncio.wait_for(run, 300)
    finally:
        ssh_net.restore_link("h2")
        if not run.done():
            run.cancel()
    assert result.ok, result.error
    rec.check_accounting(session)
    assert any(isinstance(e, ev.UnitDone) and e.worker == "h2/cpu" for e in rec.events[resumed:]), \
        "h2 was not used again after it came back"
    assert len(_probe(output)["chapters"]) == 3
    return before, ssh_net.worker_pids("h2")


async def test_link_cut_and_restored_host_reconnects_and_is_used_again(ssh_net: NsNet, wheelhouse_dir: Path,
                                                                       inventory_path: Path, sample_epub: Path,
                                                                       tmp_path: Path) -> None:
    def cut_then_restore_later() -> None:
        ssh_net.cut_link("h2")
        import threading

        threading.Timer((KEEPALIVE_COUNT_MAX + 2) * KEEPALIVE_INTERVAL, ssh_net.restore_link, ("h2",)).start()

    before, after = await _pause_through(ssh_net, wheelhouse_dir, inventory_path, sample_epub, tmp_path, "cut",
                                         cut_then_restore_later)
    assert before == after, "the worker survived the cut; nothing had to be restarted"


async def test_host_rebooted_mid_run_is_bootstrapped_again_without_help(ssh_net: NsNet, wheelhouse_dir: Path,
                                                                        inventory_path: Path, sample_epub: Path,
                                                                        tmp_path: Path) -> None:
    before, after = await _pause_through(ssh_net, wheelhouse_dir, inventory_path, sample_epub, tmp_path, "reboot",
                                         lambda: ssh_net.reboot("h2"))
    assert after and set(after).isdisjoint(before), "the rebooted host's worker was started again"
