"""WebVTT and SRT files from sentence timings."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Sequence

from tui.assembly.errors import AssemblyError
from tui.assembly.model import Cue

__all__ = ["SUBTITLE_KINDS", "check_subtitles", "render_vtt", "render_srt", "write_subtitles"]

SUBTITLE_KINDS = ("vtt", "srt")


def check_subtitles(kind: str | None) -> str | None:
    if kind is None:
        return None
    value = str(kind).lower().lstrip(".")
    if value not in SUBTITLE_KINDS:
        raise AssemblyError(f"unknown subtitle format {kind!r}: choose vtt or srt")
    return value


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _one_line(text: str) -> str:
    # a blank line would end the cue early; keep each sentence on one line
    return " ".join(str(text).split())


def _usable(cues: Sequence[Cue]) -> list[Cue]:
    return [c for c in cues if _one_line(c.text) and c.end > c.start]


def render_vtt(cues: Sequence[Cue]) -> str:
    parts = ["WEBVTT", ""]
    for n, cue in enumerate(_usable(cues), 1):
        text = _one_line(cue.text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts += [str(n), f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}", text, ""]
    return "\n".join(parts)


def render_srt(cues: Sequence[Cue]) -> str:
    parts = []
    for n, cue in enumerate(_usable(cues), 1):
        parts += [str(n), f"{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}", _one_line(cue.text), ""]
    return "\n".join(parts)


def write_subtitles(cues: Sequence[Cue], dest: Path, kind: str) -> Path:
    text = render_vtt(cues) if kind == "vtt" else render_srt(cues)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, dest)
    return dest
