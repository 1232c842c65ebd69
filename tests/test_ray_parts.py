"""The Ray source's parts without a cluster: settings, the worker plan, the actor's ASGI bridge and the
transport's mapping of Ray's failures, the CLI's refusals, and that ``tui.cli`` never imports ray."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from remote_worker.app import create_app
from remote_worker.ray_actor import WorkerActor
from tests.support.tone_engine import ToneEngine
from tui.core.client import SynthesisSettings, WorkerClient, WorkerUnreachable
from tui.core.cluster import ClusterError, WorkerEndpoint
from tui.ray.plan import CPU_WORKERS_PER_NODE, NodeInfo, plan_workers
from tui.ray.settings import RaySettings, RaySettingsError, check_address, parse_ray_table
from tui.ssh.inventory import InventoryError, load_inventory


@pytest.mark.parametrize("address", ["auto", "local", "10.0.0.5:6379", "ray://head.example:10001", "[::1]:6379"])
def test_addresses_that_are_accepted(address: str) -> None:
    assert check_address(address) == address


@pytest.mark.parametrize("address", ["nowhere", "http://h:1", "h:0", "h:99999", ":6379", "ray://h"])
def test_addresses_that_are_refused(address: str) -> None:
    with pytest.raises(RaySettingsError, match="expected auto, local, HOST:PORT or ray://HOST:PORT"):
        check_address(address)


def test_the_inventory_ray_table(tmp_path: Path) -> None:
    path = tmp_path / "inv.toml"
    path.write_text('[ray]\naddress = "10.0.0.5:6379"\nworkers = 3\ngpus_per_worker = 0.5\nengine = "xtts"\n'
                    'env = { HF_HOME = "/scratch" }\n')
    inv = load_inventory(path)
    assert inv.hosts == [] and inv.ray == RaySettings("10.0.0.5:6379", 3, 0.5, env={"HF_HOME": "/scratch"},
                                                      worker={"engine": "xtts"})
    assert inv.ray.with_options(address="local", workers=None, voice="v.onnx").worker == \
        {"engine": "xtts", "voice": "v.onnx"}
    path.write_text('[ray]\nadress = "x:1"\n')
    with pytest.raises(InventoryError, match=r"\[ray\]: unknown field 'adress'"):
        load_inventory(path)
    with pytest.raises(RaySettingsError, match="must be a number"):
        parse_ray_table({"workers": "two"}, "inv.toml")


def test_the_plan_follows_the_cluster() -> None:
    gpu_nodes = [NodeInfo("a", 16, 2), NodeInfo("b", 8, 1)]
    assert plan_workers(RaySettings(), gpu_nodes).count == 3  # one per GPU
    half = plan_workers(RaySettings(gpus_per_worker=0.5), gpu_nodes)
    assert (half.count, half.gpus, half.bundle()) == (6, 0.5, {"CPU": 1.0, "GPU": 0.5})  # two per GPU
    cpu_nodes = [NodeInfo("a", 2, 0), NodeInfo("b", 64, 0)]
    assert plan_workers(RaySettings(), cpu_nodes).count == 2 + CPU_WORKERS_PER_NODE  # per CPU, capped per node
    assert plan_workers(RaySettings(workers=5), cpu_nodes).count == 5
    with pytest.raises(ClusterError, match="no node of the Ray cluster can hold a worker asking for 1 CPU and 1 GPU"):
        plan_workers(RaySettings(gpus_per_worker=1), cpu_nodes)


# --------------------------------------------------------------------------- the actor, minus Ray

class _Method:
    """``handle.method.remote(...)`` as Ray gives it: a ref whose ``future()`` resolves off this loop."""

    def __init__(self, call: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.call, self.loop = call, loop

    def remote(self, *args: Any) -> Any:
        future = asyncio.run_coroutine_threadsafe(self.call(*args), self.loop)

        class _Ref:
            def future(self) -> concurrent.futures.Future:
                return future

        return _Ref()


@pytest.fixture
def actor_loop():
    """The actor's own event loop in its own thread, as Ray runs an async actor."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _actor(token: str) -> WorkerActor:
    actor = WorkerActor.__new__(WorkerActor)  # the engine set up by hand: a tone, not Piper
    actor.app = create_app(ToneEngine(speed=50.0), token=token)
    actor._lifespan, actor._starting = None, None
    return actor


async def test_the_worker_protocol_through_the_actor_bridge(actor_loop) -> None:
    from tui.book.model import WorkUnit
    from tui.ray.transport import ActorSlot, ActorTransport
    from remote_worker.protocol import TTSConfig

    actor = _actor("secret")

    class _Handle:
        handle = _Method(actor.handle, actor_loop)

    slot = ActorSlot(0, "ray-1@10.0.0.5/cpu", "10.0.0.5", _Handle())
    endpoint = WorkerEndpoint(slot.name, "http://ray-1.ray.invalid", token="secret", host=slot.host,
                              transport=lambda: ActorTransport(slot))
    client = WorkerClient(endpoint)
    try:
        assert (await client.health()).model_loaded
        assert (await client.status()).status == "idle"
        unit = WorkUnit(id="c0-u0", chapter_index=0, index=0, sentences=("One two three.", "Four five."),
                        paragraph_starts=(0,), content_hash="h", chars=25, est_seconds=1.0)
        result = await client.synthesize(unit, SynthesisSettings(TTSConfig()))
        assert result.response.num_sentences == 2 and result.audio[:4] == b"fLaC"
        wrong = WorkerClient(WorkerEndpoint(slot.name, "http://x.invalid", token="nope",
                                            transport=lambda: ActorTransport(slot)))
        resp = await wrong._http.get("/status")
        assert resp.status_code == 401  # the app's own token check, as over HTTP
        await wrong.aclose()
    finally:
        await client.aclose()
        asyncio.run_coroutine_threadsafe(actor.shutdown(), actor_loop).result(10)


async def test_a_dead_actor_is_a_worker_gone_and_is_said_once() -> None:
    import ray.exceptions as rex

    from tui.ray.transport import ActorSlot, ActorTransport

    class _Dead:
        class handle:  # noqa: N801 - mimics the actor method's name
            @staticmethod
            def remote(*args: Any) -> Any:
                class _Ref:
                    def future(self) -> concurrent.futures.Future:
                        f: concurrent.futures.Future = concurrent.futures.Future()
                        f.set_exception(rex.ActorUnavailableError("the actor is restarting", None))
                        return f
                return _Ref()

    said: list[str] = []
    slot = ActorSlot(0, "ray-1@10.0.0.5/cpu", "10.0.0.5", _Dead())
    slot.on_lost = lambda s, why: said.append(why)
    client = WorkerClient(WorkerEndpoint(slot.name, "http://ray-1.ray.invalid", transport=lambda: ActorTransport(slot)))
    for _ in range(2):
        with pytest.raises(WorkerUnreachable, match="Ray actor of ray-1@10.0.0.5/cpu is gone"):
            await client.status()
    await client.aclose()
    assert len(said) == 1 and "restarting" in said[0]


# --------------------------------------------------------------------------- CLI

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120)


def test_cli_refusals_are_one_line(sample_epub: Path, tmp_path: Path) -> None:
    cases = [
        (("--ray", "nowhere"), "bad Ray address 'nowhere'"),
        (("--ray-workers", "2"), "--ray-workers and --ray-gpus-per-worker go with --ray"),
        (("--ray", "auto", "--workers", "a:1"), "use either --workers or --ray, not both"),
        (("--ray", "127.0.0.1:1"), "cannot reach the Ray cluster at 127.0.0.1:1"),
    ]
    for extra, message in cases:
        done = _cli("--no-tui", str(sample_epub), "-o", str(tmp_path / "x.m4b"), *extra)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], (extra, done.stderr)
    status = _cli("status")
    assert status.returncode == 2 and "give an inventory (-i) or a Ray cluster (--ray ADDRESS)" in status.stderr


def test_the_cli_imports_no_ray() -> None:
    code = textwrap.dedent("""
        import sys
        import tui.cli, tui.ssh.inventory, tui.ray.settings
        leaked = [m for m in sys.modules if m == "ray" or m.startswith("ray.")]
        assert not leaked, leaked
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_ray_source_declares_what_it_offers() -> None:
    from tui.core.cluster import Offer
    from tui.ray.cluster import RayCluster

    assert RayCluster.offers == frozenset({Offer.EVENTS, Offer.HOSTS, Offer.REBOOTSTRAP})
    assert "token" not in repr(RayCluster(RaySettings()))


async def test_an_actor_of_another_version_or_without_the_dependencies_is_one_line(actor_loop) -> None:
    import ray.exceptions as rex

    from tui.ray.actors import describe
    from tui.ray.transport import cause_line

    async def other_version() -> dict:
        return {"version": "0.0.1", "node_ip": "10.0.0.5", "gpus": [], "pid": 1}

    class _Old:
        describe = _Method(other_version, actor_loop)

    with pytest.raises(ClusterError, match=r"^a Ray worker runs e2a worker 0\.0\.1, this orchestrator \S+: "
                                           "install the same version on the nodes$"):
        await describe(_Old(), timeout=10)

    crash = rex.RayTaskError("WorkerActor.__init__", "Traceback (most recent call last):\n"
                             "  File \"x.py\", line 1, in <module>\nModuleNotFoundError: No module named 'piper'",
                             ModuleNotFoundError("No module named 'piper'"))
    assert cause_line(crash) == "ModuleNotFoundError: No module named 'piper'"

    async def broken() -> dict:
        raise crash

    class _Broken:
        describe = _Method(broken, actor_loop)

    with pytest.raises(ClusterError) as info:
        await describe(_Broken(), timeout=10)
    assert "\n" not in str(info.value) and "No module named 'piper'" in str(info.value)
    assert "pip install e2a-tui there" in str(info.value)
