"""Writing one output file from chapter parts with a single ffmpeg call.

Lossy parts go through ffmpeg's concat demuxer with stream copy: ``outpoint``
leaves out the packets the join plan drops and ``duration`` places the next
part right after the packets that were kept, so no audio is re-encoded. FLAC
parts are decoded and encoded once more, which is exact and fast.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from tui.assembly.ffmpeg import run_ffmpeg
from tui.assembly.formats import FormatSpec

__all__ = ["JoinPiece", "concat_list", "join_to_file"]


@dataclass(frozen=True)
class JoinPiece:
    path: Path
    kept: Optional[int] = None  # packets to keep; None keeps the whole part
    lead: int = 0  # samples the part's first packet starts before zero
    frame: int = 0
    span: int = 0  # samples of joined timeline the piece occupies when cut


def _quote(path: Path) -> str:
    return "'" + str(Path(path).resolve()).replace("'", "'\\''") + "'"


def _seconds(samples: int, rate: int) -> str:
    """A time in whole microseconds, written exactly (no float formatting)."""
    micros = round(samples * 1_000_000 / rate)
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    return f"{sign}{micros // 1_000_000}.{micros % 1_000_000:06d}"


def concat_list(pieces: Sequence[JoinPiece], rate: int) -> str:
    lines = ["ffconcat version 1.0"]
    elapsed = 0
    for piece in pieces:
        lines.append(f"file {_quote(piece.path)}")
        if piece.kept is not None:
            # packets whose timestamp reaches this point are left out
            lines.append(f"outpoint {_seconds(-piece.lead * 2 + (2 * piece.kept - 1) * piece.frame, 2 * rate)}")
            # microseconds rounded from the running total, so rounding never accumulates
            before = round(elapsed * 1_000_000 / rate)
            elapsed += piece.span
            after = round(elapsed * 1_000_000 / rate)
            lines.append(f"duration {_seconds(after - before, 1_000_000)}")
    return "\n".join(lines) + "\n"


def join_to_file(
    ffmpeg: str,
    spec: FormatSpec,
    pieces: Sequence[JoinPiece],
    rate: int,
    dest: Path,
    *,
    metadata: Optional[Path] = None,
    cover: Optional[Path] = None,
    language: Optional[str] = None,
    what: str,
) -> Path:
    """Join ``pieces`` (all of one format and rate) into ``dest``, atomically."""
    dest = Path(dest)
    token = uuid.uuid4().hex[:8]
    listing = dest.with_name(f".{dest.name}.{token}.ffconcat")
    tmp = dest.with_name(f".{dest.name}.{token}.part")
    listing.write_text(concat_list(pieces, rate), encoding="utf-8")
    args: list[str] = ["-xerror"]  # a part that cannot be read must fail the join, not shorten the book
    lead = pieces[0].lead if pieces else 0
    if spec.shift_priming and lead > 0:
        args += ["-itsoffset", _seconds(-lead, rate)]
    args += ["-f", "concat", "-safe", "0", "-i", str(listing)]
    meta_index = cover_index = -1
    next_index = 1
    if metadata is not None:
        args += ["-f", "ffmetadata", "-i", str(metadata)]
        meta_index, next_index = next_index, next_index + 1
    if cover is not None:
        args += ["-i", str(cover)]
        cover_index = next_index
    args += ["-map", "0:a:0"]
    if cover_index >= 0:
        args += ["-map", f"{cover_index}:v:0", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
        args += ["-metadata:s:v:0", "comment=Cover (front)"]  # the ID3 picture type
    chapters_from = -1 if spec.chapter_tags else meta_index
    args += ["-map_metadata", str(meta_index), "-map_chapters", str(chapters_from)]
    args += ["-c:a", spec.codec if spec.lossless else "copy"]
    if spec.lossless and spec.sample_format:
        args += ["-sample_fmt", spec.sample_format]
    if language:
        args += ["-metadata:s:a:0", f"language={language}"]
    args += [*spec.final_muxer, str(tmp)]
    try:
        run_ffmpeg(ffmpeg, args, what=what)
        os.replace(tmp, dest)
    finally:
        for leftover in (listing, tmp):
            if leftover.exists():
                leftover.unlink()
    return dest
