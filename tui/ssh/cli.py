"""Click commands ``bootstrap``, ``stop``, ``status``, ``logs`` (added to the main ``e2a-tui`` group).

Exit status: 0 when every host is fine, 1 when any host failed or could not be
reached (or, for ``status``, any worker is not healthy), 2 for a bad
inventory or bad arguments. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Optional

import click

from . import commands
from .bootstrap import BootstrapError
from .connection import SshError
from .inventory import Inventory, InventoryError, load_inventory
from .report import any_failed, format_recap, format_status

__all__ = ["bootstrap_command", "stop_command", "status_command", "logs_command", "COMMANDS"]

_inventory_option = click.option(
    "-i", "--inventory", "inventory_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="TOML inventory of SSH hosts (see inventory.example.toml).",
)


def _load(path: Path) -> Inventory:
    try:
        return load_inventory(path)
    except InventoryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _progress(quiet: bool):
    if quiet:
        return None

    def show(host: str, message: str) -> None:
        click.echo(f"[{host}] {message}", err=True)

    return show


@click.command("bootstrap")
@_inventory_option
@click.option("--accept-new-host-keys", is_flag=True,
              help="Trust and record the key of a host not yet in known_hosts (never a changed key).")
@click.option("--wheelhouse", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of dependency wheels to upload, for hosts without internet access.")
@click.option("-q", "--quiet", is_flag=True, help="Only print the recap.")
def bootstrap_command(inventory_path: Path, accept_new_host_keys: bool, wheelhouse: Optional[Path],
                      quiet: bool) -> None:
    """Install the worker on every host and start one worker per GPU."""
    inv = _load(inventory_path)
    try:
        recaps = asyncio.run(commands.bootstrap(inv, accept_new_host_keys=accept_new_host_keys,
                                                wheelhouse=wheelhouse, on_event=_progress(quiet)))
    except BootstrapError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(format_recap(recaps))
    sys.exit(1 if any_failed(recaps) else 0)


@click.command("stop")
@_inventory_option
@click.option("-q", "--quiet", is_flag=True, help="Only print the recap.")
def stop_command(inventory_path: Path, quiet: bool) -> None:
    """Stop every worker on every host (the installation stays)."""
    inv = _load(inventory_path)
    recaps = asyncio.run(commands.stop(inv, on_event=_progress(quiet)))
    click.echo(format_recap(recaps))
    sys.exit(1 if any_failed(recaps) else 0)


@click.command("status")
@_inventory_option
def status_command(inventory_path: Path) -> None:
    """Show each worker: health, engine, device and GPU memory."""
    inv = _load(inventory_path)
    rows = asyncio.run(commands.status(inv))
    click.echo(format_status(rows))
    sys.exit(0 if all(r.state == "healthy" for r in rows) else 1)


@click.command("logs")
@_inventory_option
@click.argument("host")
@click.option("-n", "--lines", type=click.IntRange(1, 100000), default=100, show_default=True,
              help="Lines to show from each worker log.")
def logs_command(inventory_path: Path, host: str, lines: int) -> None:
    """Print the end of each worker log on HOST."""
    inv = _load(inventory_path)
    try:
        text = asyncio.run(commands.logs(inv, host, lines))
    except InventoryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except SshError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(text)


COMMANDS = (bootstrap_command, stop_command, status_command, logs_command)
