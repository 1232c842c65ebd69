"""The top of the main screen: what book, where it goes, and how far the run is."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from ...core.state import RunState
from .. import format as fmt

__all__ = ["BookHeader", "OverallProgress", "progress_line"]


class BookHeader(Static):
    """Title — author → output path, and the run's phase."""

    def render_state(self, state: RunState) -> None:
        o = state.overall
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(o.title or "(loading book)", style="bold")
        if o.author:
            text.append(f" — {o.author}")
        if o.output:
            text.append("  → ", style="dim")
            text.append(o.output)
        text.append("  ")
        text.append(f"[{o.phase}{', paused' if o.paused and o.phase == 'running' else ''}]",
                    style=fmt.STATE_STYLES.get("paused" if o.paused and o.phase == "running" else o.phase, "dim"))
        self.update(text)


def progress_line(state: RunState) -> Text:
    """``12/40 units · 0:42 elapsed · ETA 1:10 · 8.2× real time`` (plus failures and reuse)."""
    o = state.overall
    parts = [f"{o.units_done}/{o.units_total} units", f"{fmt.duration(state.elapsed())} elapsed"]
    if o.phase == "assembling" and o.segments_total:
        parts.append(f"writing {o.segments_done}/{o.segments_total}")
    elif o.finished_at is None:
        parts.append(f"ETA {fmt.duration(state.eta())}")
    parts.append(f"{state.speed():.1f}× real time")
    text = Text(" · ".join(parts), no_wrap=True, overflow="ellipsis")
    if o.units_reused:
        text.append(f" · {o.units_reused} reused", style="dim")
    if o.units_failed or o.units_quarantined:
        text.append(f" · {o.units_failed} failed, {o.units_quarantined} quarantined", style="bold red")
    return text


class OverallProgress(Horizontal):
    """The overall bar (units done of all) with its numbers beside it."""

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=1, show_eta=False, id="overall-bar")
        yield Static(id="overall-line")

    def render_state(self, state: RunState) -> None:
        o = state.overall
        self.query_one(ProgressBar).update(total=max(1, o.units_total), progress=o.units_done)
        self.query_one("#overall-line", Static).update(progress_line(state))
