"""What each output format needs: encoder arguments, the per-chapter part file, the final muxer.

Lossy formats keep each chapter as its own encoded part and are joined by
stream copy; FLAC is lossless and cheap to encode, so its parts are joined by
decoding and encoding once more, which is sample-exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from tui.assembly.errors import AssemblyError

__all__ = ["FormatSpec", "FORMATS", "FORMAT_NAMES", "get_format", "check_bitrate"]


@dataclass(frozen=True)
class FormatSpec:
    name: str
    extension: str  # of the final file
    part_extension: str  # of a chapter's encoded part
    codec: str
    part_muxer: tuple[str, ...]
    final_muxer: tuple[str, ...]
    lossless: bool = False
    codec_rate: Optional[int] = None  # fixed coding rate (Opus always runs at 48 kHz)
    uses_bitrate: bool = True
    # MP4 only writes an edit list (which hides the encoder's priming) when the
    # first packet starts before zero, so the joined input is shifted back by it.
    shift_priming: bool = False
    cover: str = "stream"  # "stream": attached picture stream; "vorbis": METADATA_BLOCK_PICTURE tag
    track_language: bool = False  # the container keeps the language on the audio track
    # Vorbis-comment containers get chapters as CHAPTERnnn tags written here:
    # some ffmpeg releases round those times to the nearest whole second.
    chapter_tags: bool = False
    sample_format: Optional[str] = None  # FLAC: 16-bit, not the 24 bits ffmpeg picks for float input
    codec_options: tuple[str, ...] = ()


    def encoder_args(self, bitrate: str) -> list[str]:
        args = ["-c:a", self.codec]
        if self.uses_bitrate:
            args += ["-b:a", bitrate]
        if self.codec_rate:
            args += ["-ar", str(self.codec_rate)]
        if self.sample_format:
            args += ["-sample_fmt", self.sample_format]
        return args + list(self.codec_options)


FORMATS: dict[str, FormatSpec] = {
    "m4b": FormatSpec(
        name="m4b",
        extension=".m4b",
        part_extension=".m4a",
        codec="aac",
        part_muxer=("-f", "mp4"),
        final_muxer=("-movflags", "+faststart", "-f", "ipod"),
        shift_priming=True,
        track_language=True,
        # The default two-loop coder costs ~3x the CPU for no audible gain on speech at
        # 64 kb/s, and chapters are encoded while workers synthesise on the same machine.
        codec_options=("-aac_coder", "fast"),
    ),
    "mp3": FormatSpec(
        name="mp3",
        extension=".mp3",
        part_extension=".mp3",
        codec="libmp3lame",
        # The part's LAME tag records the encoder delay and padding; read back, they
        # travel as packet side data, from which the final file's LAME tag is written.
        part_muxer=("-write_xing", "1", "-id3v2_version", "0", "-f", "mp3"),
        final_muxer=("-id3v2_version", "3", "-write_xing", "1", "-f", "mp3"),
    ),
    "opus": FormatSpec(
        name="opus",
        extension=".opus",
        part_extension=".ogg",
        codec="libopus",
        part_muxer=("-f", "ogg"),
        final_muxer=("-f", "ogg"),
        codec_rate=48000,
        cover="vorbis",
        chapter_tags=True,
    ),
    "flac": FormatSpec(
        name="flac",
        extension=".flac",
        part_extension=".flac",
        codec="flac",
        part_muxer=("-f", "flac"),
        final_muxer=("-f", "flac"),
        lossless=True,
        uses_bitrate=False,
        sample_format="s16",
        chapter_tags=True,
    ),
}

#: the output formats, in the order a user is offered them (the one list: CLI, start screen, options)
FORMAT_NAMES: tuple[str, ...] = tuple(FORMATS)

_BITRATE = re.compile(r"^[1-9][0-9]{0,5}(\.[0-9]+)?[kK]?$")


def get_format(fmt: str) -> FormatSpec:
    spec = FORMATS.get(str(fmt).lower().lstrip("."))
    if spec is None:
        raise AssemblyError(f"unknown audio format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return spec


def check_bitrate(bitrate: str) -> str:
    """Accept ffmpeg-style bit rates such as ``64k`` or ``96000``."""
    text = str(bitrate).strip()
    if not _BITRATE.match(text):
        raise AssemblyError(f"bad bit rate {bitrate!r}: use a number of bits per second such as 64k")
    return text
