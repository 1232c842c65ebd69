"""Rich text helpers for the dashboard: bars, sparklines, GPU memory, state colours.

Plain values (durations, sizes, percents, unit ids) come from
:mod:`tui.frontends.format`, shared with the headless view; what is here adds
colour and blocks, and can be tested without an app.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

from rich.text import Text

from ..frontends.format import MISSING

__all__ = [
    "bar",
    "sparkline",
    "memory",
    "state_text",
    "speed",
    "verified_percent",
    "flagged_count",
    "STATE_STYLES",
    "FLAGGED_STYLE",
]

#: One style per state word; plain ANSI names read in both the light and the dark theme.
STATE_STYLES = {
    "done": "bold green", "up": "green", "healthy": "bold green", "complete": "bold green",
    "running": "bold cyan", "busy": "bold cyan", "starting": "yellow", "probing": "yellow",
    "queued": "dim", "paused": "yellow", "draining": "magenta", "stopping": "magenta",
    "failed": "bold red", "quarantined": "bold red", "down": "bold red", "unreachable": "bold red",
    "aborted": "bold red", "partial": "yellow", "stopped": "yellow", "changed": "cyan", "ok": "green",
}

#: a flagged sentence: worth a listen, not a failure (the book is still complete)
FLAGGED_STYLE = "bold yellow"

_SPARKS = "▁▂▃▄▅▆▇█"


def bar(fraction: float, width: int) -> str:
    """A fixed-width bar of full and light blocks."""
    fraction = min(1.0, max(0.0, fraction))
    full = int(round(fraction * width))
    return "█" * full + "░" * (width - full)


def sparkline(values: Iterable[float], width: int) -> str:
    """The last ``width`` values as block characters scaled to their own maximum."""
    tail = list(values)[-width:]
    if not tail:
        return ""
    top = max(tail)
    if top <= 0:
        return _SPARKS[0] * len(tail)
    return "".join(_SPARKS[min(len(_SPARKS) - 1, int(v / top * (len(_SPARKS) - 1) + 0.5))] for v in tail)


def memory(used_mb: Optional[float], total_mb: Optional[float], width: int = 6) -> Text:
    """GPU memory as ``██░░ 3.1/8.0G``; a dash without a GPU."""
    if used_mb is None or not total_mb:
        return Text(MISSING, style="dim")
    frac = used_mb / total_mb
    style = "red" if frac > 0.9 else ("yellow" if frac > 0.75 else "green")
    return Text.assemble((bar(frac, width), style), f" {used_mb / 1024:.1f}/{total_mb / 1024:.1f}G")


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def speed(x_real_time: float) -> str:
    return f"{x_real_time:.1f}×" if x_real_time > 0 else MISSING


def verified_percent(percent: Optional[float]) -> Text:
    """Share of checked sentences heard as written, rounded down: one flagged sentence in 300 is not 100%."""
    if percent is None:
        return Text(MISSING, style="dim")
    shown = math.floor(percent)
    return Text(f"{shown}%", style="green" if shown == 100 else "")


def flagged_count(count: int) -> Text:
    return Text(str(count), style=FLAGGED_STYLE if count else "dim")
