"""``?``: every key of the dashboard and what it does (the same list as the footer and palette)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpScreen", "KEY_HELP"]

#: (key, what it does); the app's bindings and palette commands are built from the same words.
KEY_HELP = (
    ("enter", "details of the selected chapter or worker"),
    ("tab", "move between the tables"),
    ("r", "retry the selected failed or quarantined chapter"),
    ("R", "requeue the selected chapter (cancel what runs, send again; asks about finished units)"),
    ("p", "pause / resume dispatch (work in flight finishes)"),
    ("d / u", "drain / undrain the selected worker"),
    ("b", "bootstrap the selected worker's host again"),
    ("o", "sort the focused table by its next column (or click a header; again reverses)"),
    ("f", "list the flagged sentences (--verify): enter plays one, r speaks it again"),
    ("s", "stop: finish work in flight, write the partial book"),
    ("q", "quit (asks while work is in flight; finished units are kept, a rerun resumes)"),
    ("ctrl+p", "command palette"),
    ("?", "this help"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, text in KEY_HELP:
            table.add_row(key, text)
        with Vertical(classes="dialog"):
            yield Static("Keys", classes="title")
            yield Static(table)
            yield Static("esc closes", classes="hint")
