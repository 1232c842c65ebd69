"""Joining a Ray cluster (or starting a private one) with one-line errors and no endless wait.

``local`` starts a private one-node cluster for trying Ray out (:mod:`tui.ray.private`: token
authentication on, stopped with the run). Joining a cluster that uses token
authentication needs ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` (or ``RAY_AUTH_TOKEN_PATH``) set
as for any Ray client.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ..core.cluster import ClusterError
from .private import PrivateCluster
from .settings import AUTO, LOCAL

__all__ = ["RayConnection", "connect", "NAMESPACE", "CONNECT_TIMEOUT_S", "first_line"]

#: the Ray namespace every actor of this project lives in (``status``/``stop`` look there)
NAMESPACE = "e2a"
#: how long joining a cluster may take before it is an error
CONNECT_TIMEOUT_S = 60.0


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's text (Ray's carry tracebacks and banners), with the
    next one when the first only announces it (``...from server:``)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line and not line.startswith(("Traceback", "File ", "^"))]
    if not lines:
        return type(exc).__name__
    text = lines[0] if not lines[0].endswith(":") or len(lines) == 1 else f"{lines[0]} {lines[1]}"
    return text[:300]


class RayConnection:
    """This process's connection to a cluster; ``close()`` leaves it (and stops a private cluster)."""

    def __init__(self, address: str, local_dir: Optional[Path] = None, private: Optional[PrivateCluster] = None,
                 hold: Optional[threading.Event] = None) -> None:
        self.address = address
        self.local_dir = local_dir
        self._private = private
        self._hold = hold  # releases the thread that started the private cluster

    @property
    def private(self) -> bool:
        return self.local_dir is not None

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        if self._private is not None:
            self._private.stop()
        if self._hold is not None:
            self._hold.set()
        if self.local_dir is not None:
            shutil.rmtree(self.local_dir, ignore_errors=True)


def _reachable(address: str, timeout: float = 5.0) -> None:
    """A TCP connect to HOST:PORT first: an address nobody answers on fails in seconds, not Ray's minute."""
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, _, port = rest.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if isinstance(exc, socket.timeout):
            why = f"no answer within {timeout:g} s"
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {why}") from None


def _in_thread(call: Callable[[], Any], timeout: float, what: str, *, hold: Optional[threading.Event] = None) -> Any:
    """Run a blocking Ray call in a daemon thread: one that hangs cannot keep the process from exiting.

    ``hold``: the thread then stays alive until the event is set. Ray ties the processes of a cluster
    it starts to the *thread* that started them (the parent-death signal is per thread), so the
    thread that starts a private cluster must outlive it.
    """
    box: dict[str, Any] = {}
    returned = threading.Event()

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc
        returned.set()
        if hold is not None:
            hold.wait()

    thread = threading.Thread(target=run, name="e2a-ray-connect", daemon=True)
    thread.start()
    if not returned.wait(timeout):
        raise ClusterError(f"{what}: no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


@contextlib.contextmanager
def _stderr_to(folder: Path) -> Iterator[None]:
    """While Ray connects, its C++ client logs every retry straight to file descriptor 2 (before any
    log level applies): keep those lines in a file, so a failure is the one line we print."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile(dir=folder, prefix="e2a-ray-connect-") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def connect(address: str, *, num_cpus: Optional[int] = None, runtime_env: Optional[dict[str, Any]] = None,
            timeout: float = CONNECT_TIMEOUT_S) -> RayConnection:
    """Join the cluster at ``address`` (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``) or start a private one
    (``local``). ``runtime_env`` is the job's (code uploaded from here must be given at this level).
    Every failure is a :class:`ClusterError` with one line."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # the driver's C++ side logs retries straight to stderr; only its errors belong there
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    local_dir: Optional[Path] = None
    private: Optional[PrivateCluster] = None
    hold: Optional[threading.Event] = None
    kwargs: dict[str, Any] = {"namespace": NAMESPACE, "log_to_driver": False, "configure_logging": False,
                              "runtime_env": runtime_env}
    if address == LOCAL:
        local_dir = Path(tempfile.mkdtemp(prefix="e2a-ray-"))
        private, hold = PrivateCluster(local_dir, num_cpus), threading.Event()
        try:
            joined = _in_thread(private.start, CONNECT_TIMEOUT_S + 5, "starting a private Ray cluster", hold=hold)
        except BaseException:
            hold.set()
            shutil.rmtree(local_dir, ignore_errors=True)
            raise
        os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=private.token)
        os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
        kwargs.update(address=joined)
    else:
        if address != AUTO:
            _reachable(address)
        kwargs.update(address=address)
    try:
        import ray
    except ImportError:
        raise ClusterError("Ray is not installed here: pip install 'e2a-tui[ray]'") from None
    # Ray's warnings (not the main thread, token mode on) would land on our stderr as bare lines
    logging.getLogger("ray").setLevel(logging.ERROR)
    conn = RayConnection(address, local_dir, private, hold)
    try:
        with _stderr_to(local_dir or Path(tempfile.gettempdir())):
            _in_thread(lambda: ray.init(**kwargs), timeout, f"joining the Ray cluster at {address}")
    except ClusterError:
        conn.close()
        raise
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError (version), ValueError...
        conn.close()
        raise ClusterError(f"cannot join the Ray cluster at {address}: {first_line(exc)}") from None
    return conn
