"""Host-key trust: which known_hosts file applies, whether a host is in it, and recording a new key.

Trust on first use only happens when the user asks for it, and a key that
differs from a recorded one is never accepted: that is exactly the case
host-key checking exists for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import asyncssh

from .inventory import HostSpec

__all__ = ["known_hosts_path", "load_known_hosts", "host_pattern", "has_entry", "record_host_key", "describe_key"]


def known_hosts_path(host: HostSpec) -> Path:
    """The inventory's ``known_hosts`` for this host, else the user's ``~/.ssh/known_hosts``."""
    return host.known_hosts if host.known_hosts is not None else Path.home() / ".ssh" / "known_hosts"


def load_known_hosts(path: Path) -> asyncssh.SSHKnownHosts:
    """Parse ``path``; a missing file is simply an empty trust list."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = ""
    return asyncssh.import_known_hosts(text)


def host_pattern(host: HostSpec) -> str:
    """How OpenSSH writes this host in known_hosts (``[addr]:port`` off port 22)."""
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


def has_entry(known: asyncssh.SSHKnownHosts, host: HostSpec, addresses: Sequence[str] = ()) -> bool:
    """True if any key (trusted, CA or revoked) is recorded for this host, by name or by one of its IPs."""
    for addr in ("", *addresses):
        if any(known.match(host.address, addr, host.port)[:3]):
            return True
    return False


def describe_key(key: Optional[asyncssh.SSHKey]) -> str:
    if key is None:
        return "no key offered"
    return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"


def record_host_key(path: Path, host: HostSpec, key: asyncssh.SSHKey) -> None:
    """Append one OpenSSH-format line for this host; creates the file (0600, dir 0700) if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent == Path.home() / ".ssh":
        os.chmod(path.parent, 0o700)
    line = f"{host_pattern(host)} {key.export_public_key('openssh').decode().strip()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        if fh.tell() > 0:
            with open(path, "rb") as check:
                check.seek(-1, os.SEEK_END)
                if check.read(1) != b"\n":
                    fh.write("\n")
        fh.write(line)
