"""Audio assembly: unit audio → chapter parts → m4b/mp3/opus/flac with marks, tags, cover and subtitles.

Chapters are encoded as they complete (:class:`ChapterEncoder`), so the final
:func:`finish_audiobook` only joins finished parts by stream copy.

The names below load their modules on first use: the CLI reads the format list
(:mod:`tui.assembly.formats`) at start-up without paying for the audio stack.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AssemblyError",
    "ChapterAudio",
    "ChapterEncoder",
    "Cue",
    "EncodedChapter",
    "FORMATS",
    "UnitAudio",
    "assemble",
    "find_ffmpeg",
    "finish_audiobook",
]

_HOME = {
    "assemble": "audiobook", "finish_audiobook": "audiobook", "ChapterEncoder": "encoder",
    "AssemblyError": "errors", "find_ffmpeg": "ffmpeg", "FORMATS": "formats", "ChapterAudio": "model",
    "Cue": "model", "EncodedChapter": "model", "UnitAudio": "model",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
