"""What ``tui.cli`` calls when a terminal is there: the start screen, the dashboard, the bootstrap view.

Each returns the process exit code and prints, after the app has closed, the
same summary or error line the headless front end would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

import click

from ..core.cluster import Offer
from ..core.outcome import ExitCode, exit_code_for
from ..core.state import RunState

__all__ = ["pick_start", "run_dashboard", "run_bootstrap_view"]


def pick_start(root: Path = Path("."), inventory: Optional[Path] = None):
    """The start screen; a :class:`StartChoice`, or None when the user left."""
    from .start_app import StartApp

    return StartApp(root, inventory).run()


def run_dashboard(options, cluster, *, inventory: Optional[Path] = None, exit_when_done: bool = False,
                  serve_port: Optional[int] = None) -> int:
    """Drive one run in the dashboard. Raises RunError (bad options) before any screen opens."""
    from ..core.session import RunSession
    from ..frontends.headless import format_summary
    from .app import DashboardApp
    from .logs import local_log_reader, ssh_log_reader

    session = RunSession(options, cluster)
    background = []
    if serve_port is not None:
        background.append(lambda: _serve(session, options, serve_port))
    if inventory is not None:
        from ..ssh.inventory import load_inventory

        reader = ssh_log_reader(load_inventory(inventory))
        hint = f"Workers on the SSH hosts keep running; stop them with: e2a-tui stop -i {inventory}"
    else:
        reader = local_log_reader(cluster) if Offer.LOG_FILES in cluster.offers else None
        hint = ""
    app = DashboardApp(session, log_reader=reader, exit_when_done=exit_when_done, remote_hint=hint,
                       background=background)
    app.run()
    if app.error:
        click.echo(f"e2a-tui: error: {app.error}", err=True)
        return app.return_code or 2
    result = session.result
    if result is not None:
        click.echo(format_summary(result))
    if hint:
        click.echo(hint)
    code = app.return_code
    if code is None:
        code = exit_code_for(result) if result is not None else ExitCode.INTERRUPTED
    return code


async def _serve(session, options, port: int) -> None:
    from ..book.fingerprint import book_fingerprint
    from ..core.progress_server import serve_progress

    session_id = book_fingerprint(options.input)[:12]
    server = await serve_progress(session, port, session_id)
    session.bus.publish(_notice(f"progress: http://127.0.0.1:{port}/progress/{session_id}"))
    try:
        await asyncio.Event().wait()
    finally:
        server.cancel()


def _notice(message: str):
    from ..core.events import Notice

    return Notice("info", message)


def run_bootstrap_view(inv, *, accept_new_host_keys: bool = False, wheelhouse: Optional[Path] = None) -> int:
    """``e2a-tui bootstrap`` on a terminal; 0 all hosts fine, 1 any failed, 2 bootstrap could not begin."""
    from ..ssh.report import format_recap
    from .bootstrap_app import BootstrapApp
    from .bootstrap_feed import bootstrap_inventory

    state = RunState()
    app = BootstrapApp(state, lambda: bootstrap_inventory(inv, state.apply, accept_new_host_keys=accept_new_host_keys,
                                                           wheelhouse=wheelhouse))
    app.run()
    if app.error:
        click.echo(f"error: {app.error}", err=True)
        return 2
    if app.recaps is not None:
        click.echo(format_recap(app.recaps))
    return app.return_code if app.return_code is not None else 1
