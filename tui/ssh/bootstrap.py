"""Prepare one host and start its workers: preflight, upload, venv, pip, start, health.

Every step first compares what is on the host with what is wanted (install
key, worker spec, live pid, token accepted by /status), so running it twice
changes nothing the second time. Failures are caught per host and returned as
a :class:`HostRecap` naming the step and the last lines of its output.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import asyncssh

from .agent import RemoteAgent
from .connection import HostUnreachable, RemoteCommandError, SshError, connect_host
from .forwards import forwarded, wait_healthy
from .inventory import HostSpec, WorkerSpec, worker_name
from .report import HostRecap
from .wheel import ProjectWheel
from remote_worker.requirements import requirements_for
from ..core.waiting import within

__all__ = [
    "BootstrapError",
    "Wheelhouse",
    "HostSession",
    "bootstrap_host",
    "worker_argv",
    "worker_env",
    "install_key",
    "MIN_FREE_MB",
]

#: disk a fresh install needs (venv with onnxruntime and numpy, plus the uploaded wheels)
MIN_FREE_MB = 1024
STARTUP_TIMEOUT = 180.0

EventSink = Callable[[str, str], None]
#: (host, phase, detail) for the typed bootstrap phases
PhaseSink = Callable[[str, str, str], None]


class BootstrapError(Exception):
    """A local problem that stops bootstrap for every host (bad wheelhouse, no wheel)."""


@dataclass(frozen=True)
class Wheelhouse:
    """A folder of dependency wheels uploaded so hosts without internet can install."""

    path: Path
    files: tuple[Path, ...]

    @classmethod
    def open(cls, path: Path) -> "Wheelhouse":
        path = Path(path).expanduser()
        if not path.is_dir():
            raise BootstrapError(f"--wheelhouse {path}: not a directory")
        files = tuple(sorted(path.glob("*.whl")))
        if not files:
            raise BootstrapError(f"--wheelhouse {path}: holds no .whl files")
        return cls(path, files)

    @property
    def size_mb(self) -> float:
        return sum(f.stat().st_size for f in self.files) / (1024 * 1024)


def install_key(wheel: ProjectWheel, host: HostSpec) -> str:
    """What the installed venv must match: this wheel's content, this interpreter, this engine's packages."""
    parts = [wheel.sha256, host.python]
    if host.engine != "piper" or host.system_site_packages or host.verify:  # piper hosts keep the key they had
        parts += [host.engine, ",".join(requirements_for(host.engine, verify=host.verify)),
                  str(host.system_site_packages)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def worker_argv(host: HostSpec, worker: WorkerSpec) -> list[str]:
    """Arguments after the venv's python; ``{token_file}`` is filled in on the host."""
    argv = ["-m", "remote_worker", "--host", "127.0.0.1", "--port", str(worker.remote_port),
            "--engine", host.engine, "--token-file", "{token_file}",
            "--device", "cpu" if worker.gpu is None else "auto"]
    if host.threads:
        argv += ["--threads", str(host.threads)]
    if host.voice:
        argv += ["--voice", host.voice]
    if host.replicas_per_gpu > 1:
        argv += ["--replicas", str(host.replicas_per_gpu)]
    return argv


def worker_env(host: HostSpec, worker: WorkerSpec) -> dict[str, str]:
    env = dict(host.env)
    env["CUDA_VISIBLE_DEVICES"] = "" if worker.gpu is None else str(worker.gpu)
    if host.model_dir:
        env["E2A_MODEL_DIR"] = host.model_dir
    return env


class HostSession:
    """One open connection to a host and the agent calls made over it."""

    def __init__(self, host: HostSpec, conn: asyncssh.SSHClientConnection,
                 on_event: Optional[EventSink] = None, on_phase: Optional[PhaseSink] = None) -> None:
        self.host = host
        self.conn = conn
        self.on_event = on_event
        self.on_phase = on_phase
        self.agent = RemoteAgent(conn, host.name, host.python, host.workdir)

    @classmethod
    async def open(cls, host: HostSpec, *, accept_new_host_keys: bool = False,
                   on_event: Optional[EventSink] = None, on_phase: Optional[PhaseSink] = None,
                   attempts: int = 3) -> "HostSession":
        if on_phase:
            on_phase(host.name, "connect", host.target())
        conn = await connect_host(host, accept_new_host_keys=accept_new_host_keys,
                                  on_event=on_event, attempts=attempts)
        return cls(host, conn, on_event, on_phase)

    def event(self, message: str) -> None:
        if self.on_event:
            self.on_event(self.host.name, message)

    def phase(self, phase: str, detail: str = "") -> None:
        """Announce a bootstrap phase (connect, preflight, upload, venv, install, start, healthy, failed)."""
        if self.on_phase:
            self.on_phase(self.host.name, phase, detail)

    async def close(self) -> None:
        self.conn.close()
        try:
            await within(self.conn.wait_closed(), 5)
        except (asyncio.TimeoutError, OSError, asyncssh.Error):
            pass

    async def resolve_workdir(self) -> dict:
        """Preflight; also turns ``~/...`` into the host's absolute path for SFTP."""
        result = await self.agent.call("preflight", "preflight", gpus=self.host.gpus, min_free_mb=MIN_FREE_MB)
        self.agent.workdir = result["workdir"]
        return result

    async def inspect(self, *, check_venv: bool = True) -> dict:
        slugs = [w.slug for w in self.host.workers()]
        return await self.agent.call("inspect", "inspect", slugs=slugs, check_venv=check_venv)

    async def is_alive(self, worker: WorkerSpec) -> bool:
        state = await self.agent.call("inspect", f"check {worker.name}", slugs=[worker.slug], check_venv=False)
        return bool(state["workers"][worker.slug]["alive"])


async def _upload(session: HostSession, wheel: ProjectWheel, wheelhouse: Optional[Wheelhouse]) -> str:
    """Send the project wheel and the wheelhouse files the host lacks; returns the wheel's remote name."""
    wheel_dir = wheel.sha256[:16]
    listing = await session.agent.call("wheel_files", "upload", wheel_dir=wheel_dir)
    workdir = listing["workdir"]
    have = listing["files"]
    missing = [f for f in (wheelhouse.files if wheelhouse else ()) if have.get(f.name) != f.stat().st_size]
    remote_wheel = f"{wheel_dir}/{wheel.name}"
    size_mb = (sum(f.stat().st_size for f in missing) + wheel.path.stat().st_size) / (1024 * 1024)
    session.event(f"uploading {len(missing) + 1} wheel(s), {size_mb:.1f} MB")
    session.phase("upload", f"{len(missing) + 1} wheel(s), {size_mb:.1f} MB")
    try:
        async with session.conn.start_sftp_client() as sftp:
            await sftp.put(str(wheel.path), f"{workdir}/wheels/{remote_wheel}")
            for path in missing:
                partial = f"{workdir}/wheelhouse/.{path.name}.part"
                await sftp.put(str(path), partial)
                await sftp.posix_rename(partial, f"{workdir}/wheelhouse/{path.name}")
    except asyncssh.SFTPError as exc:
        raise RemoteCommandError(session.host.name, "upload", f"SFTP: {exc.reason}") from None
    except (OSError, asyncssh.Error) as exc:
        raise HostUnreachable(session.host.name, f"upload: connection lost ({type(exc).__name__})") from None
    return remote_wheel


async def _start_worker(session: HostSession, worker: WorkerSpec, spec: dict,
                        startup_timeout: float) -> None:
    host = session.host
    session.event(f"starting {worker.name} on 127.0.0.1:{worker.remote_port}")
    session.phase("start", worker.name)
    started = await session.agent.call("start", f"start {worker.name}", slug=worker.slug, argv=spec["argv"],
                                       env=spec["env"], spec=spec)
    async with forwarded(session.conn, worker.remote_port) as base_url:
        report = await wait_healthy(base_url, started.get("token"), timeout=startup_timeout,
                                    still_running=lambda: session.is_alive(worker))
    if not report.ok:
        tail = await session.agent.call("tail", f"start {worker.name}", slugs=[worker.slug], lines=10)
        lines = tail.get(worker.slug, {}).get("lines") or []
        raise RemoteCommandError(host.name, f"start {worker.name}", report.problem or "not healthy", lines)
    session.event(f"{worker.name} healthy")


async def _ensure_workers(session: HostSession, key: str, state: dict, force_restart: bool,
                          startup_timeout: float, changes: list[str]) -> None:
    host = session.host
    if state.get("others"):
        stopped = await session.agent.call("stop", "stop stale workers", slugs=state["others"])
        for slug in stopped["stopped"]:
            changes.append(f"stopped {worker_name(host.name, slug)} (no longer in the inventory)")

    async def one(worker: WorkerSpec) -> None:
        spec = {"argv": worker_argv(host, worker), "env": worker_env(host, worker), "install": key}
        current = state["workers"].get(worker.slug) or {}
        reason = None
        if force_restart and current.get("alive"):
            reason = "new install"
        elif not current.get("alive"):
            reason = None if current.get("pid") is None else "was not running"
        elif current.get("spec") != spec:
            reason = "settings changed"
        else:
            async with forwarded(session.conn, worker.remote_port) as base_url:
                report = await wait_healthy(base_url, current.get("token"), timeout=10.0)
            if report.ok:
                return
            reason = f"unhealthy: {report.problem}"
        await _start_worker(session, worker, spec, startup_timeout)
        changes.append(f"started {worker.name}" if reason is None else f"restarted {worker.name} ({reason})")

    results = await asyncio.gather(*(one(w) for w in host.workers()), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def bootstrap_host(
    session: HostSession,
    wheel: ProjectWheel,
    wheelhouse: Optional[Wheelhouse] = None,
    *,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> HostRecap:
    """Bring one host to the wanted state; never raises for a host problem, returns its recap."""
    host = session.host
    changes: list[str] = []
    step = "preflight"
    try:
        session.phase("preflight")
        pre = await session.resolve_workdir()
        if pre["problems"]:
            return HostRecap(host.name, "failed", step, "; ".join(pre["problems"]), changes=changes)
        session.event(f"preflight ok: python {pre['python']}, {pre['free_mb']} MB free")
        step = "inspect"
        key = install_key(wheel, host)
        state = await session.inspect()
        installed = state["installed_key"] == key and bool(state["venv_ok"])
        if not installed:
            step = "upload"
            remote_wheel = await _upload(session, wheel, wheelhouse)
            step = "install"
            session.phase("install" if state.get("venv_ok") else "venv",
                          "installing" + (" from the wheelhouse" if wheelhouse else "")
                          + ("" if state.get("venv_ok") else " into a new venv"))
            session.event("installing into the venv" + (" from the wheelhouse" if wheelhouse else ""))
            result = await session.agent.call("install", "install", timeout=3600.0, wheel=remote_wheel, key=key,
                                              offline=wheelhouse is not None,
                                              requirements=requirements_for(host.engine, verify=host.verify),
                                              system_site_packages=host.system_site_packages)
            if not result.get("ok"):
                output = list(result.get("output") or [])
                errors = [ln.strip() for ln in output if ln.strip().startswith("ERROR:")]
                failed_step = result.get("step", "install")
                return HostRecap(host.name, "failed", failed_step, errors[0] if errors else f"{failed_step} failed",
                                 output=output, changes=changes)
            changes.append(f"installed e2a-tui {wheel.sha256[:12]}")
        step = "workers"
        await _ensure_workers(session, key, state, not installed, startup_timeout, changes)
    except HostUnreachable as exc:
        return HostRecap(host.name, "unreachable", step, exc.message, changes=changes)
    except RemoteCommandError as exc:
        return HostRecap(host.name, "failed", exc.step, exc.message.split(": ", 1)[-1], output=exc.output,
                         changes=changes)
    except SshError as exc:
        return HostRecap(host.name, "failed", step, exc.message, changes=changes)
    return HostRecap(host.name, "changed" if changes else "ok", changes=changes,
                     workers=[w.name for w in host.workers()])
