"""Audio assembly: unit audio → chapter parts → m4b/mp3/opus/flac with marks, tags, cover and subtitles.

Chapters are encoded as they complete (:class:`ChapterEncoder`), so the final
:func:`finish_audiobook` only joins finished parts by stream copy.
"""

from tui.assembly.audiobook import assemble, finish_audiobook
from tui.assembly.encoder import ChapterEncoder
from tui.assembly.errors import AssemblyError
from tui.assembly.ffmpeg import find_ffmpeg
from tui.assembly.formats import FORMATS
from tui.assembly.model import ChapterAudio, Cue, EncodedChapter, UnitAudio

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
