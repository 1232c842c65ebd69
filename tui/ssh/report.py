"""What the SSH commands report: a recap line per host, a status row per worker, as plain text.

Plain aligned text, because it goes to terminals, logs and CI output alike
and must read the same in all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Sequence

__all__ = ["HostState", "HostRecap", "WorkerStatusRow", "format_recap", "format_status", "any_failed",
           "recap_events"]

HostState = Literal["ok", "changed", "failed", "unreachable"]


@dataclass
class HostRecap:
    """How one host came out of a command (the Ansible-style recap)."""

    host: str
    state: HostState
    step: Optional[str] = None  # the step that failed
    message: str = ""
    output: list[str] = field(default_factory=list)  # last lines of the failing step's output
    changes: list[str] = field(default_factory=list)  # what was done, in order
    workers: list[str] = field(default_factory=list)  # workers running when it finished

    @property
    def ok(self) -> bool:
        return self.state in ("ok", "changed")


@dataclass
class WorkerStatusRow:
    """One worker as ``e2a-tui status`` shows it."""

    host: str
    worker: str
    remote_port: int
    state: Literal["healthy", "unhealthy", "stopped", "unreachable"]
    pid: Optional[int] = None
    engine: str = ""
    device: str = ""
    voice: str = ""
    gpu_name: Optional[str] = None
    gpu_memory_used_mb: Optional[float] = None
    gpu_memory_total_mb: Optional[float] = None
    units_done: int = 0
    uptime_seconds: float = 0.0
    detail: str = ""


def recap_events(recap: HostRecap) -> list:
    """The typed events a front end folds for a host's recap: a ``failed`` phase when it failed, then the recap."""
    from ..core import events as ev

    out: list = []
    if not recap.ok:
        out.append(ev.HostPhase(recap.host, "failed", recap.message))
    out.append(ev.HostRecapped(recap.host, recap.state, recap.step or "", recap.message, tuple(recap.output[-10:]),
                               tuple(recap.changes), tuple(recap.workers)))
    return out


def any_failed(recaps: Sequence[HostRecap]) -> bool:
    return any(not r.ok for r in recaps)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers).rstrip()] + [fmt.format(*r).rstrip() for r in rows]


def format_recap(recaps: Sequence[HostRecap], *, title: str = "RECAP") -> str:
    """One line per host, then the failing step and its last output lines under each failure."""
    lines = [title]
    width = max((len(r.host) for r in recaps), default=4)
    for r in recaps:
        if r.ok:
            detail = "; ".join(r.changes) if r.changes else "nothing to do"
        else:
            detail = f"at {r.step}: {r.message}" if r.step else r.message
        lines.append(f"  {r.host:<{width}}  {r.state:<11}  {detail}".rstrip())
        for out in r.output[-10:]:
            lines.append(f"  {'':<{width}}  | {out}")
    counts = {s: sum(1 for r in recaps if r.state == s) for s in ("ok", "changed", "failed", "unreachable")}
    lines.append("  " + "  ".join(f"{k}={v}" for k, v in counts.items()))
    return "\n".join(lines)


def _mb(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_status(rows: Sequence[WorkerStatusRow]) -> str:
    """A table: worker, state, engine, device, GPU memory used/total, units done, detail."""
    if not rows:
        return "no workers in the inventory"
    body = []
    for r in rows:
        gpu = "-" if r.gpu_memory_total_mb is None and r.gpu_memory_used_mb is None else \
            f"{_mb(r.gpu_memory_used_mb)}/{_mb(r.gpu_memory_total_mb)} MB"
        body.append([
            r.worker, r.state, str(r.remote_port), "-" if r.pid is None else str(r.pid),
            r.engine or "-", r.device or "-", gpu, str(r.units_done), r.detail,
        ])
    return "\n".join(_table(
        ["WORKER", "STATE", "PORT", "PID", "ENGINE", "DEVICE", "GPU MEM", "UNITS", "DETAIL"], body))
