"""Writing ffmpeg's FFMETADATA1 files: global tags and chapter marks.

In this format ``=``, ``;``, ``#``, ``\\`` and newlines are special in keys and
values and must be escaped with a backslash; an unescaped ``;`` or ``#`` at a
line start turns the line into a comment and an unescaped newline ends the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

__all__ = ["ChapterMark", "escape", "render_ffmetadata", "vorbis_chapter_tags"]

_SPECIAL = ("\\", "=", ";", "#", "\n")


@dataclass(frozen=True)
class ChapterMark:
    start: int  # in 1/timebase units
    end: int
    title: str


def escape(text: str) -> str:
    out = str(text).replace("\r\n", "\n").replace("\r", "\n")
    for ch in _SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out


def render_ffmetadata(tags: Mapping[str, str], chapters: Sequence[ChapterMark] = (), timebase: int = 1000) -> str:
    """The file's text; empty tag values are left out."""
    lines = [";FFMETADATA1"]
    for key, value in tags.items():
        if value is not None and str(value) != "":
            lines.append(f"{escape(key)}={escape(value)}")
    for mark in chapters:
        lines += [
            "[CHAPTER]",
            f"TIMEBASE=1/{int(timebase)}",
            f"START={int(mark.start)}",
            f"END={int(mark.end)}",
        ]
        if mark.title:
            lines.append(f"title={escape(mark.title)}")
    return "\n".join(lines) + "\n"


def _clock(seconds: float) -> str:
    millis = max(0, int(seconds * 1000))  # floor: a mark never moves past its audio
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def vorbis_chapter_tags(chapters: Sequence[ChapterMark], timebase: int) -> dict[str, str]:
    """Chapters as Vorbis comments (``CHAPTER001=00:01:02.345``, ``CHAPTER001NAME=...``)."""
    tags: dict[str, str] = {}
    width = max(3, len(str(len(chapters))))
    for n, mark in enumerate(chapters, 1):
        key = f"CHAPTER{n:0{width}d}"
        tags[key] = _clock(mark.start / timebase)
        tags[key + "NAME"] = " ".join(mark.title.split())
    return tags
