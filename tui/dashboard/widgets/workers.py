"""The Workers table: one row per worker, in the order they appeared."""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text

from ...core.state import RunState, WorkerView
from .. import format as fmt
from .table import Column, LiveTable

__all__ = ["WorkersTable", "worker_cells"]

SPARK_WIDTH = 12


def _host(w: WorkerView) -> str:
    gpu = f" gpu{w.gpu_index}" if w.gpu_index is not None else ""
    return f"{w.host or '-'}{gpu}"


def _current(state: RunState, w: WorkerView) -> str:
    unit = w.current_unit
    if unit is None:
        return ""
    chapter = w.current_chapter
    more = f" +{len(w.current) - 1}" if len(w.current) > 1 else ""
    return (f"ch{chapter + 1} " if chapter is not None else "") + unit.rsplit("-", 1)[-1] + more


def worker_cells(state: RunState, w: WorkerView, now: Optional[float] = None) -> dict[str, Any]:
    """Every cell of one worker row, as text the table compares to what it shows."""
    xrt, cps = state.worker_throughput(w.name, now)
    return {
        "name": Text(w.name),
        "host": Text(_host(w)),
        "state": fmt.state_text(w.state),
        "engine": Text(f"{w.engine or '-'} {w.device}".strip()),
        "mem": fmt.memory(w.gpu_memory_used_mb, w.gpu_memory_total_mb),
        "util": fmt.percent(w.gpu_utilization_percent),
        "current": Text(_current(state, w)),
        "speed": Text(f"{fmt.speed(xrt)} {cps:.0f}c/s" if xrt > 0 else "-"),
        "spark": Text(fmt.sparkline(w.history, SPARK_WIDTH), style="cyan"),
        "done": str(w.units_done),
        "fail": Text(str(w.units_failed), style="red" if w.units_failed else ""),
    }


class WorkersTable(LiveTable):
    COLUMNS = (
        Column("name", "Worker", 12, 1),
        Column("host", "Host/GPU", 14, 4),
        Column("state", "State", 9, 1),
        Column("engine", "Engine/device", 14, 5),
        Column("mem", "GPU memory", 16, 3),
        Column("util", "Util", 4, 5),
        Column("current", "Current", 14, 2),
        Column("speed", "Speed", 12, 2),
        Column("spark", "Recent", SPARK_WIDTH, 4),
        Column("done", "Done", 5, 1),
        Column("fail", "Fail", 4, 2),
    )

    def render_state(self, state: RunState) -> None:
        now = state.clock()
        self.sync((name, worker_cells(state, w, now)) for name, w in state.workers.items())
