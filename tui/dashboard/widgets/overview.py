"""The top of the main screen: what book, where it goes, and how far the run is."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import ProgressBar

from ...core.state import RunState
from ...frontends.format import format_duration
from .. import format as fmt

__all__ = ["Line", "BookHeader", "OverallProgress", "progress_line"]


class Line(Widget):
    """One line of text of a fixed height: a change repaints it without a layout pass (unlike Static)."""

    DEFAULT_CSS = "Line { height: 1; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._text = Text()

    def render(self) -> Text:
        return self._text

    def show(self, text: Text) -> None:
        if text != self._text:
            self._text = text
            self.refresh()


class BookHeader(Line):
    """[phase] Title — author → output; a long output path loses its start, never its file name."""

    def render_state(self, state: RunState) -> None:
        o = state.overall
        paused = o.paused and o.phase in ("running", "starting")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"[{o.phase}{', paused' if paused else ''}] ",
                    style=fmt.STATE_STYLES.get("paused" if paused else o.phase, "dim"))
        text.append(o.title or "(loading book)", style="bold")
        if o.author:
            text.append(f" — {o.author}")
        if o.output != self._output:
            self._output = o.output
            self.refresh()
        self.show(text)

    _output = ""

    def render(self) -> Text:
        if not self._output:
            return self._text
        room = max(12, self.size.width - self._text.cell_len - 4)
        path = self._output if len(self._output) <= room else "…" + self._output[-(room - 1):]
        return Text.assemble(self._text, ("  → ", "dim"), path, no_wrap=True, overflow="ellipsis")


def progress_line(state: RunState) -> Text:
    """``12/40 units · 0:42 elapsed · ETA 1:10 · 8.2× real time`` (plus verification, failures and reuse)."""
    o = state.overall
    parts = [f"{o.units_done}/{o.units_total} units", f"{format_duration(state.elapsed())} elapsed"]
    if o.phase == "assembling" and o.segments_total:
        parts.append(f"writing {o.segments_done}/{o.segments_total}")
    elif o.finished_at is None:
        parts.append(f"ETA {format_duration(state.eta())}")
    parts.append(f"{state.speed():.1f}× real time")
    text = Text(" · ".join(parts), no_wrap=True, overflow="ellipsis")
    checked = o.sentences_passed + o.sentences_flagged
    if checked:
        text.append(f" · {o.sentences_passed}/{checked} verified")
        if o.sentences_flagged:
            text.append(f" · {o.sentences_flagged} flagged", style=fmt.FLAGGED_STYLE)
    if o.units_reused:
        text.append(f" · {o.units_reused} reused", style="dim")
    if o.units_failed or o.units_quarantined:
        text.append(f" · {o.units_failed} failed, {o.units_quarantined} quarantined", style="bold red")
    return text


class OverallProgress(Horizontal):
    """The overall bar (units done of all) with its numbers beside it."""

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=1, show_eta=False, id="overall-bar")
        yield Line(id="overall-line")

    def render_state(self, state: RunState) -> None:
        o = state.overall
        bar = self.query_one(ProgressBar)
        total = max(1, o.units_total)
        if bar.total != total or bar.progress != o.units_done:
            bar.update(total=total, progress=o.units_done)
        self.query_one("#overall-line", Line).show(progress_line(state))
