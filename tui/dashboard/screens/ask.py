"""Small modal questions (quit while running? redo finished units?), answered by one key."""

from __future__ import annotations

from typing import Optional, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["AskScreen"]


class AskScreen(ModalScreen[Optional[str]]):
    """Shows a question and its answers as keys; dismisses with the chosen answer (None: escape)."""

    BINDINGS = [Binding("escape", "answer(None)", "Cancel")]

    def __init__(self, question: str, answers: Sequence[tuple[str, str, str]]) -> None:
        """``answers``: (key, value, label) per choice."""
        super().__init__()
        self.question = question
        self.answers = list(answers)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question), classes="question")
            lines = Text()
            for key, _, label in self.answers:
                lines.append(f" {key} ", style="reverse bold")
                lines.append(f" {label}   ")
            lines.append(" esc ", style="reverse")
            lines.append(" cancel")
            yield Static(lines, classes="answers")

    def on_key(self, event) -> None:
        for key, value, _ in self.answers:
            if event.key == key or event.character == key:
                event.stop()
                self.dismiss(value)
                return

    def action_answer(self, value: Optional[str]) -> None:
        self.dismiss(value)
