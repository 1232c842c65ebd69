"""The log panel: the model's notices, newest last, worker text shown literally."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from ...core.events import Notice
from ...core.state import RunState

__all__ = ["NoticeLog", "notice_text"]

_LEVEL_STYLES = {"info": "dim", "warning": "bold yellow", "error": "bold red"}


def notice_text(notice: Notice) -> Text:
    """A ``Text`` (never markup): brackets and escapes in worker messages stay as they are."""
    text = Text()
    text.append(f"{notice.level:<7} ", style=_LEVEL_STYLES.get(notice.level, ""))
    text.append(notice.message)
    return text


class NoticeLog(RichLog):
    """Appends only the notices it has not shown yet (the model keeps the last 200)."""

    can_focus = False  # Tab moves between the two tables only

    def __init__(self, **kwargs) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=500, **kwargs)
        self._shown = 0  # state.notices_total when last rendered

    def render_state(self, state: RunState) -> None:
        fresh = state.notices_total - self._shown
        if fresh <= 0:
            return
        for notice in list(state.notices)[-min(fresh, len(state.notices)):]:
            self.write(notice_text(notice))
        self._shown = state.notices_total
