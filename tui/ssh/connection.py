"""One SSH connection per host: verified host key, keepalive, retries with backoff.

Keepalive is what turns a silently dead link into a ``ConnectionLost`` within
seconds instead of a hang; every error becomes an :class:`SshError` whose text
is one line that says which host and what to do about it.
"""

from __future__ import annotations

import asyncio
import shlex
import socket
from dataclasses import dataclass
from typing import Callable, Optional

import asyncssh

from ..core.waiting import Backoff, retry, within
from . import hostkeys
from .inventory import HostSpec

__all__ = [
    "SshError",
    "HostUnreachable",
    "HostKeyRefused",
    "RemoteCommandError",
    "CommandResult",
    "connect_host",
    "run_command",
    "KEEPALIVE_INTERVAL",
    "KEEPALIVE_COUNT_MAX",
]

#: a dead link is noticed after about interval * (count_max + 1) seconds
KEEPALIVE_INTERVAL = 2.0
KEEPALIVE_COUNT_MAX = 2
CONNECT_TIMEOUT = 10.0

EventSink = Callable[[str, str], None]


class SshError(Exception):
    """Base of this package's SSH failures; ``str()`` is one line naming the host."""

    def __init__(self, host: str, message: str) -> None:
        super().__init__(f"{host}: {message}")
        self.host = host
        self.message = message


class HostUnreachable(SshError):
    """No SSH session could be had (network, sshd, authentication).

    ``transient``: a network failure that may pass (worth retrying); a refused login or host key is not.
    """

    transient = False


class HostKeyRefused(HostUnreachable):
    """The host's key is unknown or differs from the recorded one."""


class RemoteCommandError(SshError):
    """A command on the host failed; ``output`` holds its last lines."""

    def __init__(self, host: str, step: str, message: str, output: Optional[list[str]] = None) -> None:
        super().__init__(host, f"{step}: {message}")
        self.step = step
        self.output = list(output or [])


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


def _options(host: HostSpec, known: asyncssh.SSHKnownHosts, connect_timeout: float) -> dict:
    opts: dict = dict(
        host=host.address,
        port=host.port,
        known_hosts=known,
        config=None,  # the inventory is the whole truth; ~/.ssh/config must not change what it says
        keepalive_interval=KEEPALIVE_INTERVAL,
        keepalive_count_max=KEEPALIVE_COUNT_MAX,
        connect_timeout=connect_timeout,
        login_timeout=connect_timeout,
    )
    if host.user:
        opts["username"] = host.user
    if host.identity_file is not None:
        opts["client_keys"] = [str(host.identity_file)]
        opts["agent_path"] = None  # like IdentitiesOnly: use the named key, nothing else
    return opts


def _unreachable(host: HostSpec, exc: BaseException, timeout: float = CONNECT_TIMEOUT) -> HostUnreachable:
    where = f"{host.address}:{host.port}"
    if isinstance(exc, asyncssh.PermissionDenied):
        who = host.user or "the local user name"
        key = f" with {host.identity_file}" if host.identity_file else ""
        return HostUnreachable(host.name, f"{where} refused login as {who}{key}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return HostUnreachable(host.name, f"no answer from {where} within {timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return HostUnreachable(host.name, f"connection refused by {where} (is sshd running on that port?)")
    if isinstance(exc, socket.gaierror):
        return HostUnreachable(host.name, f"cannot resolve {host.address!r}")
    if isinstance(exc, asyncssh.DisconnectError):
        return HostUnreachable(host.name, f"{where}: {exc.reason or type(exc).__name__}")
    if isinstance(exc, OSError):
        return HostUnreachable(host.name, f"{where}: {exc.strerror or exc}")
    return HostUnreachable(host.name, f"{where}: {type(exc).__name__}: {exc}")


async def _host_key_problem(host: HostSpec, accept_new: bool, timeout: float,
                            on_event: Optional[EventSink]) -> bool:
    """After a host-key failure: record the key (returns True) or raise :class:`HostKeyRefused`."""
    path = hostkeys.known_hosts_path(host)
    known = hostkeys.load_known_hosts(path)
    try:
        key = await within(
            asyncssh.get_server_host_key(host.address, host.port, config=None), timeout)
    except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
        raise _unreachable(host, exc, timeout) from None
    offered = hostkeys.describe_key(key)
    pattern = hostkeys.host_pattern(host)
    try:  # a key recorded under the host's IP counts as recorded (OpenSSH's CheckHostIP)
        infos = await asyncio.get_running_loop().getaddrinfo(host.address, host.port, type=socket.SOCK_STREAM)
        addresses = sorted({str(info[4][0]) for info in infos})
    except OSError:
        addresses = []
    if hostkeys.has_entry(known, host, addresses):
        raise HostKeyRefused(
            host.name,
            f"host key for {pattern} does not match the one in {path} (offered {offered}); if the host "
            f"was reinstalled, remove the old entry with: ssh-keygen -R '{pattern}' -f {path}",
        )
    if not accept_new or key is None:
        raise HostKeyRefused(
            host.name,
            f"host key for {pattern} is not known (not in {path}; offered {offered}); check that fingerprint "
            f"on the host and run again with --accept-new-host-keys to record it",
        )
    hostkeys.record_host_key(path, host, key)
    if on_event:
        on_event(host.name, f"recorded new host key {offered} in {path}")
    return True


async def connect_host(
    host: HostSpec,
    *,
    accept_new_host_keys: bool = False,
    attempts: int = 3,
    connect_timeout: float = CONNECT_TIMEOUT,
    on_event: Optional[EventSink] = None,
) -> asyncssh.SSHClientConnection:
    """Open a verified connection, retrying network failures with backoff (not key or login failures)."""

    async def once() -> asyncssh.SSHClientConnection:
        recorded = False
        while True:
            known = hostkeys.load_known_hosts(hostkeys.known_hosts_path(host))
            try:
                return await asyncssh.connect(**_options(host, known, connect_timeout))
            except asyncssh.HostKeyNotVerifiable:
                if recorded:
                    raise HostKeyRefused(host.name, "host key changed while it was being recorded") from None
                recorded = await _host_key_problem(host, accept_new_host_keys, connect_timeout, on_event)
            except asyncssh.PermissionDenied as exc:
                raise _unreachable(host, exc) from None
            except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
                problem = _unreachable(host, exc, connect_timeout)
                problem.transient = True
                raise problem from None

    def told(exc: BaseException, delay: float) -> None:
        if on_event and isinstance(exc, HostUnreachable):
            on_event(host.name, f"connect failed ({exc.message}); retrying in {delay:g} s")

    return await retry(once, retryable=lambda exc: getattr(exc, "transient", False), attempts=attempts,
                       backoff=Backoff(0.5, 2.0, 8.0), on_retry=told)


async def run_command(
    conn: asyncssh.SSHClientConnection,
    host: str,
    step: str,
    argv: list[str],
    *,
    input: Optional[str] = None,
    timeout: Optional[float] = None,
    check: bool = True,
) -> CommandResult:
    """Run ``argv`` (shell-quoted) on the host; a non-zero exit raises :class:`RemoteCommandError`."""
    command = " ".join(shlex.quote(a) for a in argv)
    try:
        result = await within(conn.run(command, input=input, check=False), timeout)
    except asyncio.TimeoutError:
        raise RemoteCommandError(host, step, f"no result within {timeout:.0f} s") from None
    except (OSError, asyncssh.Error) as exc:
        raise HostUnreachable(host, f"{step}: connection lost ({type(exc).__name__})") from None
    out = result.stdout if isinstance(result.stdout, str) else (result.stdout or b"").decode(errors="replace")
    err = result.stderr if isinstance(result.stderr, str) else (result.stderr or b"").decode(errors="replace")
    status = result.exit_status if result.exit_status is not None else -1
    if check and status != 0:
        lines = [ln for ln in (out + "\n" + err).splitlines() if ln.strip()][-10:]
        raise RemoteCommandError(host, step, f"exit status {status}", lines)
    return CommandResult(status, out, err)
