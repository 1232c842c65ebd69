"""The log panel: the model's notices, newest last, worker text shown literally."""

from __future__ import annotations

from typing import Optional

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
        self._last: Optional[Notice] = None

    def render_state(self, state: RunState) -> None:
        notices = state.notices
        if not notices or notices[-1] is self._last:
            return
        fresh = []
        for notice in reversed(notices):
            if notice is self._last:
                break
            fresh.append(notice)
        for notice in reversed(fresh):
            self.write(notice_text(notice))
        self._last = notices[-1]
