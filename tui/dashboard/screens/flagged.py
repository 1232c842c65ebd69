"""The Flagged view: every sentence still wrong after all its takes, to hear it or have it spoken again.

Rows come from :meth:`RunState.flagged_sentences` (book order, times in the
book). Enter plays the selected sentence's span of the written book in a
player found on PATH (in a thread worker: the UI never waits on it); ``r``
sends its unit again for new takes.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from typing import Any, Callable, Optional

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...core import commands as cmd
from ...core.checks import FlaggedSentence, book_time
from ...core.state import RunState
from ...core.text import printable
from ...frontends.format import format_seconds, unit_label
from .. import format as fmt
from ..playback import PLAYERS, NotPlayable, Playback, Player, Span, Which, command_line, find_playback, span_of
from ..widgets.chapters import verifies
from ..widgets.table import Column, LiveTable
from ..words import word_diff
from .detail import _Detail

__all__ = ["FlaggedScreen", "FlaggedTable", "flagged_key", "flagged_cells", "empty_message", "readable"]

HINT = "enter plays it · r speaks it again (new takes of its unit) · esc closes"


def readable(f: FlaggedSentence) -> FlaggedSentence:
    """The sentence with its book and worker text made safe for a terminal (no escapes or control characters)."""
    return replace(f, expected=printable(f.expected), heard=printable(f.heard), problem=printable(f.problem),
                   chapter_title=printable(f.chapter_title))


def flagged_key(f: FlaggedSentence) -> str:
    return f"{f.unit_id}/{f.sentence_index}"


def flagged_cells(f: FlaggedSentence) -> dict[str, Any]:
    expected, heard = word_diff(f.expected, f.heard)
    for text in (expected, heard):
        text.no_wrap, text.overflow = True, "ellipsis"
    return {
        "chapter": str(f.chapter_index + 1),
        "title": Text(f.chapter_title, overflow="ellipsis", no_wrap=True),
        "time": book_time(f.book_seconds),
        "length": format_seconds(f.seconds),
        "score": f"{f.score:.2f}",
        "takes": str(f.takes),
        "problem": Text(f.problem, style=fmt.FLAGGED_STYLE),
        "expected": expected,
        "heard": heard,
    }


class FlaggedTable(LiveTable):
    COLUMNS = (
        Column("chapter", "Ch", 3, 1),
        Column("title", "Chapter", 16, 5),
        Column("time", "Time", 9, 1),
        Column("length", "Length", 6, 4),
        Column("score", "Score", 5, 1),
        Column("takes", "Takes", 5, 3),
        Column("problem", "Problem", 8, 2),
        Column("expected", "Expected", 28, 1),
        Column("heard", "Heard", 28, 2),
    )


def empty_message(state: RunState) -> Text:
    """Why the list is empty: nothing flagged (so far), or the run does not check its sentences."""
    if not verifies(state):
        return Text.assemble(("No flagged sentences", "bold"), ": this run does not verify its audio "
                             "(with --verify every sentence is heard back and spoken again until it is right).")
    o = state.overall
    so_far = " so far" if o.result is None else ""
    return Text.assemble(("No flagged sentences", "bold"),
                         f"{so_far}: {o.sentences_passed} of {o.sentences_passed + o.sentences_flagged} "
                         "checked sentences were heard as written.")


def _detail(f: FlaggedSentence, command: str) -> Table:
    """The selected sentence in full: where it is, and its expected and heard words with the differences marked."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    place = Text(f"chapter {f.chapter_index + 1}: ")
    place.append(f.chapter_title)
    place.append(f" · {book_time(f.book_seconds)} (+{f.seconds:.1f} s) · unit {unit_label(f.unit_id)}, "
                 f"sentence {f.sentence_index + 1} · score {f.score:.2f} · {f.takes} takes · ", style="dim")
    place.append(f.problem, style=fmt.FLAGGED_STYLE)
    expected, heard = word_diff(f.expected, f.heard)
    grid.add_row("Where", place)
    grid.add_row("Expected", expected)
    grid.add_row("Heard", heard)
    if command:
        grid.add_row("Play with", Text(command))
    return grid


class FlaggedScreen(_Detail):
    """``f``: the flagged sentences; Enter plays the selected one, ``r`` asks for new takes of it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close"), Binding("r", "respeak", "Speak again")]

    def __init__(self, state: RunState, send: Callable[[cmd.Command], None], which: Which = shutil.which) -> None:
        super().__init__(state)
        self.send = send
        self.which = which
        self.player = Player()
        self._rows: dict[str, FlaggedSentence] = {}
        self._command = ""  # the line that would play the selection, shown when no player is found

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(id="flagged-title", classes="title")
            yield FlaggedTable(id="flagged")
            yield Static(id="flagged-empty")
            yield Static(id="flagged-detail")
            yield Static(HINT, id="flagged-hint", classes="hint")

    def on_unmount(self) -> None:
        self.player.stop()  # closing the view ends what it plays

    def render_state(self) -> None:
        super().render_state()
        flagged = [readable(f) for f in self.state.flagged_sentences()]
        self._rows = {flagged_key(f): f for f in flagged}
        o = self.state.overall
        title = Text("Flagged sentences", style="bold")
        if flagged:
            title.append(f"  {len(flagged)} still wrong after every take, of {o.sentences_passed + o.sentences_flagged}"
                         " checked", style="dim")
        self.query_one("#flagged-title", Static).update(title)
        table = self.query_one(FlaggedTable)
        empty = self.query_one("#flagged-empty", Static)
        for widget, shown in ((table, bool(flagged)), (empty, not flagged)):
            if widget.display != shown:
                widget.display = shown
        if not flagged:
            empty.update(empty_message(self.state))
        self.query_one("#flagged-hint", Static).update(HINT if flagged else "esc closes")
        table.sync((flagged_key(f), flagged_cells(f)) for f in flagged)
        self._show_selected()

    def selected(self) -> Optional[FlaggedSentence]:
        key = self.query_one(FlaggedTable).selected_key()
        return self._rows.get(key) if key is not None else None

    def _show_selected(self) -> None:
        chosen = self.selected()
        detail = self.query_one("#flagged-detail", Static)
        detail.update(_detail(chosen, self._command) if chosen is not None else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._command = ""
        self._show_selected()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_play()

    # ------------------------------------------------------------------ actions
    def action_play(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        try:
            span = span_of(self.state, chosen)
        except NotPlayable as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        playback = find_playback(span, self.which)
        if playback is None:
            self._command = command_line(span)
            self._show_selected()
            self.notify(f"No player found ({', '.join(PLAYERS[:-1])}, or {PLAYERS[-1]} with ffmpeg). To hear it, "
                        f"run:\n{self._command}", severity="warning", timeout=20, markup=False)
            return
        self.notify(f"Playing chapter {chosen.chapter_index + 1} at {span.describe()} with {playback.player}: "
                    f"“{chosen.expected}”", markup=False)
        self._play(playback, span)

    @work(thread=True, group="play")
    def _play(self, playback: Playback, span: Span) -> None:
        problem = self.player.run(playback)
        if problem:  # often no audio device here (a dashboard over SSH): say how to play it elsewhere
            message = f"Could not play it: {problem}\nTo play it where there is sound: {command_line(span)}"
            try:
                self.app.call_from_thread(self.notify, message, severity="error", timeout=20, markup=False)
            except RuntimeError:  # the app closed meanwhile
                pass

    def action_respeak(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.notify("No flagged sentence selected.")
            return
        if self.state.overall.result is not None:
            self.notify("The run is over: new takes can be asked for only while it runs.", severity="warning")
            return
        self.send(cmd.RequeueUnit(chosen.unit_id))
        self.notify(f"Speaking unit {unit_label(chosen.unit_id)} again (chapter {chosen.chapter_index + 1}, "
                    f"{book_time(chosen.book_seconds)}): each of its sentences gets new takes and is heard again.",
                    markup=False)
