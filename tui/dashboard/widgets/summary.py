"""The end-of-run panel: what was written, how fast, who did what, what is missing."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...core.events import RunFinished
from ...core.state import RunState
from ...frontends.format import format_duration, unit_label
from .. import format as fmt

__all__ = ["SummaryPanel", "summary_renderable", "verification_lines"]

_HEADINGS = {"complete": "Finished", "stopped": "Stopped", "aborted": "Aborted", "partial": "Finished with problems"}


def summary_renderable(result: RunFinished, remote_hint: str = "") -> Group:
    speed = result.audio_seconds / result.wall_seconds if result.wall_seconds > 0 else 0.0
    head = Text()
    head.append(_HEADINGS.get(result.outcome, "Finished") + ": ", style=fmt.STATE_STYLES.get(result.outcome, "bold"))
    head.append(f"{format_duration(result.audio_seconds)} of audio in {format_duration(result.wall_seconds)}"
                f" ({speed:.1f}× real time); {result.units_total} units, {result.units_synthesized} synthesized,"
                f" {result.units_reused} reused")
    parts: list = [head]
    for path in result.outputs:
        parts.append(Text.assemble(("Wrote ", "dim"), path))
    parts += verification_lines(result)
    if result.per_worker:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for name in ("Worker", "Units", "Audio", "Speed"):
            table.add_column(name, justify="left" if name == "Worker" else "right")
        for name, stats in sorted(result.per_worker.items()):
            audio = float(stats.get("audio_seconds", 0.0))
            rate = audio / result.wall_seconds if result.wall_seconds else 0.0
            table.add_row(name, str(int(stats.get("units", 0))), format_duration(audio), f"{rate:.1f}×")
        parts.append(table)
    if result.quarantined:
        parts.append(Text(f"{len(result.quarantined)} unit(s) quarantined (failed on every worker tried):",
                          style="bold red"))
        for unit_id in result.quarantined[:8]:
            error = (result.errors or {}).get(unit_id, "")
            parts.append(Text.assemble(f"  unit {unit_label(unit_id)}: ", (error[:200], "red")))
        parts.append(Text("The run is over, so r cannot send them again here: rerun the same command to retry "
                          "them (finished units are reused).", style="yellow"))
    if result.error:
        parts.append(Text.assemble(("Problem: ", "bold red"), result.error))
    if result.outcome == "aborted":
        parts.append(Text("Finished units are kept; rerun the same command to resume.", style="yellow"))
    if remote_hint:
        parts.append(Text(remote_hint, style="yellow"))
    parts.append(Text("Press q to quit.", style="dim"))
    return Group(*parts)


def verification_lines(result: RunFinished) -> list[Text]:
    """How many sentences were heard as written, and where the flagged ones are listed (none: not verified)."""
    checked = result.sentences_passed + result.sentences_flagged
    if not (checked or result.sentences_unverified):
        return []
    line = Text(f"Verified: {result.sentences_passed} of {checked} sentences heard as written")
    if result.sentences_flagged:
        line.append(f", {result.sentences_flagged} flagged", style=fmt.FLAGGED_STYLE)
    if result.sentences_unverified:
        line.append(f", {result.sentences_unverified} not checkable")
    lines = [line]
    if result.flagged_report:
        lines.append(Text.assemble(("Flagged sentences: ", "dim"), result.flagged_report,
                                   (" (f lists them)", "dim")))
    return lines


class SummaryPanel(Static):
    def __init__(self, remote_hint: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.remote_hint = remote_hint
        self._shown = None

    def render_state(self, state: RunState) -> None:
        result = state.overall.result
        if result is None or result is self._shown:
            return
        self._shown = result
        self.update(summary_renderable(result, self.remote_hint))
        if not self.display:
            self.display = True
