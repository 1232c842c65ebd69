"""The Workers table: one row per worker, in the order they appeared (or sorted by a column)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ...core.state import RunState, WorkerView
from ...frontends.format import MISSING, compute_label, format_percent, unit_label, unit_numbers
from .. import format as fmt
from .table import Column, LiveTable

__all__ = ["WorkersTable", "worker_cells", "worker_sort_values"]

SPARK_WIDTH = 12


def _host(w: WorkerView) -> str:
    gpu = f" gpu{w.gpu_index}" if w.gpu_index is not None else ""
    return f"{w.host or MISSING}{gpu}"


def _engine(w: WorkerView) -> str:
    """``piper CPU``, ``xtts CUDA``: the engine and what it computes on."""
    return f"{w.engine or MISSING} {compute_label(w.device)}".strip()


def _current(w: WorkerView) -> str:
    """``2.4`` (chapter 2, unit 4), with ``+1`` per further unit in flight."""
    unit = w.current_unit
    if unit is None:
        return ""
    more = f" +{len(w.current) - 1}" if len(w.current) > 1 else ""
    return unit_label(unit) + more


def worker_cells(w: WorkerView, xrt: float, cps: float) -> dict[str, Any]:
    """Every cell of one worker row, as text the table compares to what it shows.

    ``xrt`` and ``cps``: its recent throughput (× real time, characters a second).
    """
    return {
        "name": Text(w.name),
        "host": Text(_host(w)),
        "state": fmt.state_text(w.state),
        "engine": Text(_engine(w)),
        "mem": fmt.memory(w.gpu_memory_used_mb, w.gpu_memory_total_mb),
        "util": format_percent(w.gpu_utilization_percent),
        "current": Text(_current(w)),
        "speed": Text(f"{fmt.speed(xrt)} {cps:.0f}c/s" if xrt > 0 else MISSING),
        "spark": Text(fmt.sparkline(w.history, SPARK_WIDTH), style="cyan"),
        "done": str(w.units_done),
        "fail": Text(str(w.units_failed), style="red" if w.units_failed else ""),
    }


def worker_sort_values(w: WorkerView, xrt: float) -> dict[str, Any]:
    """What each column sorts by, where its text alone would sort wrongly (numbers, units)."""
    current = w.current_unit
    return {
        "mem": w.gpu_memory_used_mb,
        "util": w.gpu_utilization_percent,
        "current": (unit_numbers(current) or (0, 0)) if current is not None else None,
        "speed": xrt if xrt > 0 else None,
        "spark": w.history[-1] if w.history else None,
        "done": w.units_done,
        "fail": w.units_failed,
    }


class WorkersTable(LiveTable):
    SORTABLE = True
    NATURAL_ORDER = "order of arrival"
    COLUMNS = (
        Column("name", "Worker", 12, 1),
        Column("host", "Host/GPU", 14, 4),
        Column("state", "State", 9, 1),
        Column("engine", "Engine/device", 14, 5),
        Column("mem", "GPU memory", 16, 3),
        Column("util", "Util", 5, 5),
        Column("current", "Current", 10, 2),
        Column("speed", "Speed", 12, 2),
        Column("spark", "Recent", SPARK_WIDTH, 4),
        Column("done", "Done", 5, 1),
        Column("fail", "Fail", 5, 2),
    )

    def render_state(self, state: RunState) -> None:
        now = state.clock()
        rows, sort_values = [], {}
        for name, w in state.workers.items():
            xrt, cps = state.worker_throughput(name, now)
            rows.append((name, worker_cells(w, xrt, cps)))
            sort_values[name] = worker_sort_values(w, xrt)
        self.sync(rows, sort_values=sort_values)
