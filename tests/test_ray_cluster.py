"""Workers as Ray actors on a real two-node Ray cluster (two raylets in two network namespaces).

Each test runs ``e2a-tui --ray`` as a user would, on the head node, and checks the book a user
gets (chapters and duration probed, against a local run of the same book), the journal (every unit
spoken once, its audio kept), and what happened to the actors (SIGKILLed, ``ray.kill``-ed).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.probe import chapter_spans, ffprobe
from tests.support.ray_nodes import RayNodes, shared_ray_nodes
from tui.sample import SAMPLE_CHAPTERS

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.timeout(600)]

TITLES = [title for title, _ in SAMPLE_CHAPTERS]


@pytest.fixture(scope="module")
def nodes() -> RayNodes:
    return shared_ray_nodes()


@pytest.fixture(scope="module")
def reference(local_reference: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Chapter spans of the same book converted by 2 local workers with the same unit size (conftest's
    ``local_reference``: ``--local-workers 2 --unit-chars 200``, run once per session)."""
    return local_reference


def _cli(nodes: RayNodes, book: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tui", "--no-tui", str(book), "-o", str(output), "--ray", nodes.address,
            "--ray-workers", "2", "--unit-chars", "200", *extra]


def _journal(output: Path) -> sqlite3.Connection:
    return sqlite3.connect(output.with_name(output.name + ".e2a") / "journal.sqlite3")


def _assert_book(output: Path, reference: list[tuple[str, float, float]]) -> None:
    """Chapters as the local run's, duration within 2 % of it (Piper's noise_w differs by ~1 % per take)
    and within 1 % of the journal's unit audio; every unit has its audio and was spoken once."""
    info = ffprobe(output)
    spans = chapter_spans(info)
    assert [s[0] for s in spans] == [r[0] for r in reference] == TITLES
    assert abs(spans[-1][2] - reference[-1][2]) <= 0.02 * reference[-1][2], (spans[-1][2], reference[-1][2])
    db = _journal(output)
    rows = db.execute("SELECT u.unit_id, a.duration FROM units u JOIN audio a ON a.content_hash = u.content_hash"
                      ).fetchall()
    assert len(rows) == db.execute("SELECT COUNT(*) FROM units").fetchone()[0], "a unit has no audio"
    total = sum(d for _, d in rows)
    assert abs(float(info["format"]["duration"]) - total) <= 0.01 * total
    done = Counter(h for (h,) in db.execute("SELECT content_hash FROM attempts WHERE status='done'"))
    assert set(done.values()) == {1}, "a unit was synthesised twice"


def _workers_with_units(output: Path) -> dict[str, int]:
    db = _journal(output)
    return dict(db.execute("SELECT worker, COUNT(*) FROM attempts WHERE status='done' GROUP BY worker"))


def test_a_book_is_spoken_by_actors_on_both_nodes(nodes: RayNodes, sample_epub: Path, tmp_path: Path,
                                                  reference: list) -> None:
    output = tmp_path / "two-nodes.m4b"
    done = nodes.exec("a", *_cli(nodes, sample_epub, output), timeout=500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr and not done.stderr.strip(), done.stderr[-2000:]
    workers = _workers_with_units(output)
    assert set(workers) == {f"ray-1@{nodes.ips['a']}/cpu", f"ray-2@{nodes.ips['b']}/cpu"} or \
        set(workers) == {f"ray-1@{nodes.ips['b']}/cpu", f"ray-2@{nodes.ips['a']}/cpu"}, workers
    assert all(n > 0 for n in workers.values())
    _assert_book(output, reference)
    _wait(lambda: not nodes.actor_pids("a") and not nodes.actor_pids("b"), "the run's actors gone", 60)


def _running_on(db_path: Path, node_ip: str) -> bool:
    try:
        db = sqlite3.connect(db_path)
        try:
            return db.execute("SELECT COUNT(*) FROM attempts WHERE status='running' AND worker LIKE ?",
                              (f"%@{node_ip}/%",)).fetchone()[0] > 0
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet
        return False


def _wait(predicate, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw: {what}")
        time.sleep(0.05)


def test_actors_killed_mid_unit_are_restarted_and_the_book_completes(nodes: RayNodes, sample_epub: Path,
                                                                     tmp_path: Path, reference: list) -> None:
    output = tmp_path / "faults.m4b"
    journal = output.with_name(output.name + ".e2a") / "journal.sqlite3"
    run = nodes.popen("a", *_cli(nodes, sample_epub, output), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)
    try:
        # 1. the actor on node b: its process SIGKILLed while it speaks a unit (a crash, an OOM kill)
        _wait(lambda: _running_on(journal, nodes.ips["b"]) and nodes.actor_pids("b"), "a unit running on node b")
        killed = nodes.actor_pids("b")
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        # 2. the actor on node a: ray.kill (Ray restarts it: no_restart=False) while it speaks a unit
        _wait(lambda: _running_on(journal, nodes.ips["a"]), "a unit running on node a")
        nodes.driver("names = [n for n in ray.util.list_named_actors() if n.startswith('e2a-')]\n"
                     "for n in names:\n"
                     "    h = ray.get_actor(n)\n"
                     f"    if ray.get(h.describe.remote(), timeout=30)['node_ip'] == {nodes.ips['a']!r}:\n"
                     "        ray.kill(h, no_restart=False)\n")
        out, err = run.communicate(timeout=500)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, out[-3000:] + err[-3000:]
    assert "Traceback" not in err
    db = _journal(output)
    lost = db.execute("SELECT worker, status FROM attempts WHERE status NOT IN ('done')").fetchall()
    lost_workers = {w.split("@")[1].split("/")[0] for w, _ in lost}
    assert lost_workers == {nodes.ips["a"], nodes.ips["b"]}, lost  # each kill cost the unit in flight
    for ip in (nodes.ips["a"], nodes.ips["b"]):
        name = next(w for w, _ in lost if f"@{ip}/" in w)
        assert re.search(rf"worker {re.escape(name)} is down", out), out[-3000:]
        assert f"{name}: Ray actor lost" in out, out[-3000:]
        assert f"worker {name} is up: back" in out, out[-3000:]  # restarted by Ray, back in the run
    assert killed and not set(killed) & set(nodes.actor_pids("b"))
    _assert_book(output, reference)


def test_orchestrator_killed_during_a_ray_run_resumes_without_speaking_a_unit_twice(
        nodes: RayNodes, sample_epub: Path, tmp_path: Path, reference: list) -> None:
    output = tmp_path / "resume.m4b"
    journal = output.with_name(output.name + ".e2a") / "journal.sqlite3"
    first = nodes.popen("a", *_cli(nodes, sample_epub, output), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)

    def done_units() -> int:
        try:
            db = sqlite3.connect(journal)
            try:
                return db.execute("SELECT COUNT(*) FROM audio").fetchone()[0]
            finally:
                db.close()
        except sqlite3.OperationalError:
            return 0

    try:
        _wait(lambda: done_units() >= 3, "three units done")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    kept = done_units()
    # Ray removes the actors of a dead driver; the rerun starts its own
    _wait(lambda: not nodes.actor_pids("a") and not nodes.actor_pids("b"), "the dead run's actors gone", 120)
    second = nodes.exec("a", *_cli(nodes, sample_epub, output), timeout=500)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert re.search(rf", {kept} reused", second.stdout) or re.search(r", (\d+) reused", second.stdout), \
        second.stdout[-2000:]
    reused = int(re.search(r", (\d+) reused", second.stdout).group(1))
    assert reused >= kept
    _assert_book(output, reference)  # includes: no unit has two 'done' attempts across both runs


def test_status_and_stop_see_only_the_actors_of_a_live_run(nodes: RayNodes) -> None:
    cli = [sys.executable, "-m", "tui"]
    status = nodes.exec("a", *cli, "status", "--ray", nodes.address)
    assert status.returncode == 0, status.stderr
    assert "2 node(s)" in status.stdout and "no e2a worker actor is running" in status.stdout
    stop = nodes.exec("a", *cli, "stop", "--ray", nodes.address)
    assert stop.returncode == 0 and "stopped 0 worker actor(s)" in stop.stdout, stop.stdout + stop.stderr


@pytest.mark.parametrize("extra, message", [
    (("--ray-gpus-per-worker", "1"), "no node of the Ray cluster can hold a worker asking for 1 CPU and 1 GPU"),
    (("--ray-workers", "6"), "the Ray cluster cannot give 6 worker(s) x 1 CPU within"),
])
def test_resources_the_cluster_cannot_give_are_one_line_errors(nodes: RayNodes, sample_epub: Path, tmp_path: Path,
                                                               extra: tuple, message: str) -> None:
    output = tmp_path / "none.m4b"
    args = [a for a in _cli(nodes, sample_epub, output) if a not in ("--ray-workers", "2")]
    done = nodes.exec("a", *args, *extra, timeout=120)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("e2a-tui: error: ") and message in lines[0], done.stderr
    _wait(lambda: not nodes.actor_pids("a") and not nodes.actor_pids("b"), "no actor left", 60)


def test_unreachable_or_malformed_addresses_are_one_line_errors(nodes: RayNodes, sample_epub: Path,
                                                                tmp_path: Path) -> None:
    for address, message in ((f"{nodes.ips['a']}:1", "cannot reach the Ray cluster at"),
                             ("nowhere", "bad Ray address 'nowhere'")):
        done = nodes.exec("a", sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o",
                          str(tmp_path / "x.m4b"), "--ray", address, timeout=60)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr


_REPLACE_SCRIPT = """
import asyncio, json, sys
import ray
from tui.core.client import WorkerClient, WorkerUnreachable
from tui.ray.cluster import RayCluster
from tui.ray.settings import RaySettings

async def main():
    notices = []
    cluster = RayCluster(RaySettings(address=sys.argv[1], workers=2, max_restarts=0))
    cluster.bind_events(lambda e: notices.append(getattr(e, "message", "")))
    endpoints = await cluster.start()
    try:
        first, other = cluster.slots
        clients = {ep.name: WorkerClient(ep) for ep in endpoints}
        old_pid, other_pid = first.pid, other.pid
        ray.kill(first.handle, no_restart=True)  # gone for good: Ray will not restart it
        try:
            await clients[first.name].status()
            dead = "answered"
        except WorkerUnreachable as exc:
            dead = str(exc)
        replaced = await cluster.rebootstrap(first.host)  # what b asks for
        status = await clients[first.name].status()  # the same client, the new actor
        untouched = await cluster.rebootstrap(other.host)
        print(json.dumps({"dead": dead, "replaced": [ep.name for ep in replaced], "status": status.status,
                          "old_pid": old_pid, "new_pid": first.pid, "other_same": other.pid == other_pid,
                          "untouched": [ep.name for ep in untouched], "notices": notices}))
        for client in clients.values():
            await client.aclose()
    finally:
        await cluster.stop()

asyncio.run(main())
"""


def test_b_replaces_an_actor_that_ray_will_not_restart(nodes: RayNodes) -> None:
    import json

    done = nodes.exec("a", sys.executable, "-c", _REPLACE_SCRIPT, nodes.address, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "is gone" in seen["dead"], seen
    assert len(seen["replaced"]) == 1 and seen["status"] == "idle", seen
    assert seen["new_pid"] != seen["old_pid"] and seen["other_same"], seen
    assert seen["untouched"] == [], seen  # a live actor is left alone
    assert any("Ray actor lost" in n and "press b for a new one" in n for n in seen["notices"]), seen
    _wait(lambda: not nodes.actor_pids("a") and not nodes.actor_pids("b"), "stop() removing the actors", 60)
