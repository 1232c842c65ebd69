"""``--ray local``: a private one-node Ray cluster that lives exactly as long as the run.

It is a ``ray start --head --block`` child of this process. Ray's processes listen on every
interface of the machine (Ray has no option to bind loopback only), so the cluster is started
with Ray's own token authentication and a fresh random token that only this process and its
children know: a stranger who reaches a port is refused (``InvalidAuthToken``). The autoscaler
monitor, whose metrics server would listen unauthenticated, is not started (``--no-monitor``),
nor the dashboard. The child gets SIGTERM when its parent thread dies (even by SIGKILL), and
``ray start --block`` then stops the cluster's processes.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from ..core.cluster import ClusterError

__all__ = ["PrivateCluster"]

#: seconds the private cluster may take to accept connections
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    """An ephemeral port (never in Ray's worker-port range 10002-19999)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class PrivateCluster:
    """``address = PrivateCluster(folder).start()``; ``stop()`` ends it. Call both from one thread that
    lives as long as the cluster (the parent-death signal follows the thread that started it)."""

    def __init__(self, folder: Path, num_cpus: Optional[int] = None) -> None:
        self.folder = folder
        self.num_cpus = num_cpus
        self.token = secrets.token_hex(32)
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        port = _free_port()
        ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
        args = [ray or "ray", "start", "--head", "--block", "--no-monitor", "--port", str(port),
                "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(self.folder)]
        if self.num_cpus is not None:
            args += ["--num-cpus", str(self.num_cpus)]
        env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token, RAY_USAGE_STATS_ENABLED="0")
        env.pop("RAY_AUTH_TOKEN_PATH", None)
        env.pop("RAY_ADDRESS", None)
        log = open(self.folder / "ray-start.log", "wb")
        try:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        except OSError as exc:
            raise ClusterError(f"cannot start a private Ray cluster: {exc.strerror or exc}") from None
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ClusterError(f"the private Ray cluster did not start: {self._tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return f"127.0.0.1:{port}"
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ClusterError(f"the private Ray cluster did not start within {timeout:g} s: {self._tail()}")

    def _tail(self) -> str:
        try:
            lines = (self.folder / "ray-start.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-2:])

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # ray start --block stops the cluster's processes on SIGTERM
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
