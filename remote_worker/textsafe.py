"""Text the worker sends back to be shown on someone's terminal: one line, no control characters."""

from __future__ import annotations

import re

__all__ = ["one_line", "DETAIL_LIMIT"]

# C0 and C1 controls (ESC and CSI start terminal escape sequences), DEL, Unicode line/paragraph separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
DETAIL_LIMIT = 500


def one_line(text: str) -> str:
    """``text`` with control characters turned into spaces and cut short: safe to print on any terminal.

    Engine exceptions carry whatever text the engine (or the sentence it choked on) held; an
    error ``detail`` ends up on the orchestrator's screen, so it must not carry escape codes.
    """
    cleaned = " ".join(_CONTROL.sub(" ", text).split())
    return cleaned if len(cleaned) <= DETAIL_LIMIT else cleaned[: DETAIL_LIMIT - 1] + "…"
