"""Text that came from elsewhere (workers, hosts, books) made safe to put on a terminal.

A hostile or broken worker could send escape sequences that move the cursor,
retitle the window or hide lines. Everything shown to a person goes through
:func:`printable` first; Rich markup is never interpreted in such text either
(front ends print it as literal ``Text``).
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# ANSI escape sequences (CSI, OSC, and two-character ESC forms), then any remaining C0/C1 control.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, *, max_chars: int = 2000) -> str:
    """``text`` without escape sequences or control characters, on one line, at most ``max_chars`` long."""
    if not text:
        return ""
    text = _ESCAPES.sub("", str(text))
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    text = _CONTROLS.sub("", text)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text
