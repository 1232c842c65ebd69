"""The embedded default: start N ``e2a-worker`` processes on loopback, stop them at the end.

Each worker gets its own random token (loopback is shared by every local user)
and its own thread count, so N one-thread workers use N cores without fighting.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

import httpx

from .cluster import ClusterError, Offer, WorkerEndpoint, WorkerSource
from .events import Event, WorkerStateChanged
from .waiting import poll_until, within

__all__ = ["LocalCluster", "default_local_workers", "spawn_local_worker"]

READY_PREFIX = "E2A_WORKER_PORT="


def default_local_workers(threads: int = 1) -> int:
    """Workers that fit this machine: one per ``threads`` cores, ~0.6 GB each, at most 8."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    by_cpu = max(1, cores // max(1, threads))
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        by_mem = max(1, int(avail // (600 * 1024 * 1024)))
    except (ValueError, OSError, AttributeError):
        by_mem = by_cpu
    return max(1, min(by_cpu, by_mem, 8))


class _LocalWorker:
    def __init__(self, name: str, proc: asyncio.subprocess.Process, port: int, token: str, log: Path) -> None:
        self.name, self.proc, self.port, self.token, self.log = name, proc, port, token, log
        # drains stdout so the worker never blocks on a full pipe; ends when the process does
        self.drain: Optional[asyncio.Task[None]] = None

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; the stdout drain ends with the process."""
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            await within(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self.drain is not None:
            await asyncio.gather(self.drain, return_exceptions=True)


async def spawn_local_worker(
    name: str,
    *,
    engine: str = "piper",
    voice: Optional[str] = None,
    threads: int = 1,
    workdir: Path,
    startup_timeout: float = 120.0,
    extra_args: tuple[str, ...] = (),
) -> "_LocalWorker":
    """Start one worker on 127.0.0.1 with a free port and wait until it answers /health."""
    token = secrets.token_urlsafe(24)
    token_file = workdir / f"{name}.token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    log = workdir / f"{name}.log"
    args = [sys.executable, "-m", "remote_worker", "--host", "127.0.0.1", "--port", "0",
            "--engine", engine, "--threads", str(threads), "--token-file", str(token_file)]
    if voice:
        args += ["--voice", voice]
    args += list(extra_args)
    env = dict(os.environ)
    env.pop("WORKER_PORT", None)
    log_fh = open(log, "ab")
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=log_fh, stdin=asyncio.subprocess.DEVNULL, env=env,
            preexec_fn=_die_with_parent,
        )
    finally:
        log_fh.close()
    try:
        port = await within(_read_port(proc), startup_timeout)
        worker = _LocalWorker(name, proc, port, token, log)
        worker.drain = asyncio.ensure_future(_drain(proc))
        await _wait_healthy(f"http://127.0.0.1:{port}", token, startup_timeout)
    except BaseException as exc:  # cancelled, timed out or failed: never leave the process behind
        if proc.returncode is None:
            proc.kill()
        await asyncio.shield(proc.wait())
        if isinstance(exc, (asyncio.TimeoutError, ClusterError)):
            reason = str(exc) or "timed out"
            raise ClusterError(f"local worker {name} did not start ({reason}): {_tail(log)}") from None
        raise
    return worker


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when the orchestrator dies, even by SIGKILL."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: workers are still stopped on a normal exit
        pass


async def _read_port(proc: asyncio.subprocess.Process) -> int:
    assert proc.stdout is not None
    while True:
        line = await proc.stdout.readline()
        if not line:
            raise ClusterError(f"exited with code {await proc.wait()}")
        text = line.decode(errors="replace").strip()
        if text.startswith(READY_PREFIX):
            return int(text[len(READY_PREFIX):])


async def _drain(proc: asyncio.subprocess.Process) -> None:
    if proc.stdout is None:
        return
    while await proc.stdout.read(65536):
        pass


async def _wait_healthy(base_url: str, token: str, timeout: float) -> None:
    async with httpx.AsyncClient(trust_env=False, headers={"Authorization": f"Bearer {token}"}) as http:
        async def loaded() -> Optional[bool]:
            try:
                resp = await http.get(base_url + "/health", timeout=2.0)
            except httpx.TransportError:
                return None
            return True if resp.status_code == 200 and resp.json().get("model_loaded", True) else None

        ok, _ = await poll_until(loaded, timeout=timeout, interval=0.1)
    if not ok:
        raise ClusterError(f"worker at {base_url} never became healthy")


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class LocalCluster(WorkerSource):
    """N local worker processes, each logging to ``<workdir>/<name>.log``."""

    offers = frozenset({Offer.EVENTS, Offer.HOSTS, Offer.REBOOTSTRAP, Offer.LOG_FILES})

    def __init__(
        self,
        count: Optional[int] = None,
        *,
        threads: int = 1,
        engine: str = "piper",
        voice: Optional[str] = None,
        workdir: Optional[Path] = None,
    ) -> None:
        self.threads = max(1, threads)
        self.count = count or default_local_workers(self.threads)
        self.engine, self.voice = engine, voice
        self._own_dir = workdir is None
        self.workdir: Optional[Path] = Path(workdir) if workdir else None  # made at start()
        self.workers: list[_LocalWorker] = []
        self._publish: Optional[Callable[[Event], None]] = None

    def host_names(self) -> tuple[str, ...]:
        return ("localhost",)

    def log_file(self, worker: str) -> Optional[Path]:
        return self.workdir / f"{worker}.log" if self.workdir is not None else None

    def bind_events(self, publish: Callable[[Event], None]) -> None:
        """Where to announce workers as they start (the run session's bus)."""
        self._publish = publish

    def _announce(self, event: Event) -> None:
        if self._publish is not None:
            self._publish(event)

    async def _spawn(self, name: str) -> "_LocalWorker":
        assert self.workdir is not None
        self._announce(WorkerStateChanged(name, "starting", "localhost"))
        try:
            return await spawn_local_worker(name, engine=self.engine, voice=self.voice, threads=self.threads,
                                            workdir=self.workdir)
        except ClusterError as exc:
            self._announce(WorkerStateChanged(name, "down", "localhost", str(exc)))
            raise

    async def rebootstrap(self, host: str) -> list[WorkerEndpoint]:
        """Start again the local workers that are no longer running; their endpoints (new ports; none
        when every worker is still running)."""
        if host != "localhost":
            raise ClusterError(f"no host {host} among local workers")
        restarted = []
        for i, worker in enumerate(list(self.workers)):
            if worker.proc.returncode is None:
                continue
            fresh = await self._spawn(worker.name)
            self.workers[i] = fresh
            restarted.append(fresh)
        return [WorkerEndpoint(w.name, f"http://127.0.0.1:{w.port}", token=w.token, host="localhost")
                for w in restarted]

    async def start(self) -> list[WorkerEndpoint]:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="e2a-local-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        results = await asyncio.gather(*[self._spawn(f"local-{i + 1}") for i in range(self.count)],
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        self.workers = [r for r in results if not isinstance(r, BaseException)]
        if not self.workers:
            self._remove_workdir()
            raise ClusterError(str(errors[0]) if errors else "no local worker started")
        return [
            WorkerEndpoint(w.name, f"http://127.0.0.1:{w.port}", token=w.token, host="localhost")
            for w in self.workers
        ]

    def pid_of(self, name: str) -> Optional[int]:
        for w in self.workers:
            if w.name == name:
                return w.proc.pid
        return None

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))
        self.workers = []
        self._remove_workdir()

    def _remove_workdir(self) -> None:
        if self._own_dir and self.workdir is not None:
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)
