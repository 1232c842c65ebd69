"""The Hosts table: SSH bootstrap phases per host, then how each host came out."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...core.state import HostView, RunState
from ...frontends.format import format_duration
from .. import format as fmt
from .table import Column, LiveTable

__all__ = ["HostsTable", "host_cells"]

PHASES = ("connect", "preflight", "upload", "venv", "install", "start", "healthy")


def _steps(h: HostView) -> Text:
    """``●●●○○○○``: the phases passed, the current one, and those to come."""
    out = Text()
    failed = h.phase == "failed"
    at = PHASES.index(h.phase) if h.phase in PHASES else (-1 if not failed else len(PHASES))
    if failed and h.recap is not None and h.recap.step in PHASES:
        at = PHASES.index(h.recap.step)
    for i, _ in enumerate(PHASES):
        if i < at or h.phase == "healthy":
            out.append("●", style="green")
        elif i == at:
            out.append("●" if not failed else "✗", style="bold red" if failed else "bold cyan")
        else:
            out.append("○", style="dim")
    return out


def host_cells(h: HostView, now: float) -> dict[str, Any]:
    recap = h.recap
    result = recap.state if recap is not None else ""
    detail = h.detail
    if recap is not None and recap.changes and recap.state != "failed":
        detail = "; ".join(recap.changes)
    return {
        "host": Text(h.name),
        "phase": fmt.state_text(h.phase),
        "steps": _steps(h),
        "elapsed": format_duration(h.elapsed(now)),
        "result": fmt.state_text(result),
        "workers": str(len(recap.workers)) if recap is not None else "",
        "detail": Text(detail, overflow="ellipsis", no_wrap=True),
    }


class HostsTable(LiveTable):
    COLUMNS = (
        Column("host", "Host", 14, 1),
        Column("phase", "Phase", 9, 1),
        Column("steps", "Steps", 7, 3),
        Column("elapsed", "Time", 6, 2),
        Column("result", "Result", 11, 1),
        Column("workers", "Workers", 7, 4),
        Column("detail", "Detail", 40, 2),
    )

    def render_state(self, state: RunState) -> None:
        now = state.clock()
        self.sync((name, host_cells(h, now)) for name, h in state.hosts.items())
