"""The finish step: encoded chapters → the audiobook file(s), marks, tags, cover, subtitles.

For lossy formats nothing is re-encoded here: parts are joined by stream copy
following the join plan, and chapter marks and subtitle cues are placed from
the packets actually written (see :mod:`tui.assembly.joinplan`). Chapters
encoded with other settings than the output needs are re-encoded from their
units first, which is the slow path.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

from tui.assembly.cover import metadata_block_picture, write_cover
from tui.assembly.encoder import ChapterEncoder
from tui.assembly.errors import AssemblyError
from tui.assembly.ffmetadata import ChapterMark, render_ffmetadata, vorbis_chapter_tags
from tui.assembly.ffmpeg import find_ffmpeg
from tui.assembly.filenames import safe_filename
from tui.assembly.formats import FormatSpec, get_format
from tui.assembly.joiner import JoinPiece, join_to_file
from tui.assembly.joinplan import plan_join
from tui.assembly.model import ChapterAudio, Cue, EncodedChapter
from tui.assembly.pcm import unit_info
from tui.assembly.subtitles import check_subtitles, write_subtitles
from tui.assembly.tags import book_tags, chapter_tags, iso639_2
from tui.book.model import BookMeta

__all__ = ["finish_audiobook", "assemble"]


def finish_audiobook(
    encoded: Sequence[EncodedChapter],
    meta: BookMeta,
    out_path: Path,
    *,
    fmt: str = "m4b",
    split_chapters: bool = False,
    subtitles: Optional[str] = None,
) -> list[Path]:
    """Write the book (or one file per chapter) and return every path written.

    A chapter may arrive as several consecutive segments (same ``index``, in order):
    they are joined like chapters are, and get one chapter mark.

    With ``split_chapters`` the files go into a folder named after
    ``out_path``'s stem ("Book/01 - Title.m4b"). Subtitles ("vtt"/"srt") are
    written beside each audio file. Every file is written under a temporary
    name and renamed into place.
    """
    spec = get_format(fmt)
    kind = check_subtitles(subtitles)
    out_path = Path(out_path)
    if not out_path.suffix:
        out_path = out_path.with_suffix(spec.extension)
    # stable: the segments of one chapter keep the order they were given in
    chapters = sorted((c for c in encoded if not c.is_empty), key=lambda c: c.index)
    if not chapters:
        raise AssemblyError("nothing to assemble: no chapter has any audio")
    for ch in chapters:
        if ch.path is None or not ch.path.is_file():
            raise AssemblyError(f"encoded audio of chapter {ch.index + 1} is missing: {ch.path}")
    ffmpeg = find_ffmpeg()
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssemblyError(f"cannot create output folder {out_path.parent}: {exc.strerror or exc}") from None
    with tempfile.TemporaryDirectory(prefix=".e2a-finish-", dir=out_path.parent) as tmp_name:
        tmp = Path(tmp_name)
        chapters = _conform(chapters, spec, tmp / "reencoded")
        cover = write_cover(meta.cover, tmp) if spec.cover == "stream" else None
        picture = metadata_block_picture(meta.cover) if spec.cover == "vorbis" else None
        language = iso639_2(meta.language) if spec.track_language else None
        writer = _write_split if split_chapters else _write_single
        return writer(ffmpeg, spec, chapters, meta, out_path, tmp, cover, picture, language, kind)


def assemble(
    chapters: Sequence[ChapterAudio],
    meta: BookMeta,
    out_path: Path,
    *,
    fmt: str = "m4b",
    bitrate: str = "64k",
    split_chapters: bool = False,
    subtitles: Optional[str] = None,
    work_dir: Optional[Path] = None,
) -> list[Path]:
    """Encode every chapter, then finish: for callers that have all the audio already."""
    check_subtitles(subtitles)
    get_format(fmt)
    first = next((c.units[0] for c in chapters if c.units), None)
    rate = unit_info(first.path).rate if first is not None else None
    with tempfile.TemporaryDirectory(prefix="e2a-assembly-") as scratch:
        encoder = ChapterEncoder(Path(work_dir) if work_dir else Path(scratch), fmt=fmt, bitrate=bitrate, sample_rate=rate)
        workers = max(1, min(4, os.cpu_count() or 1, len(chapters)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="encode") as pool:
            encoded = list(pool.map(encoder.encode, chapters))
        return finish_audiobook(
            encoded, meta, out_path, fmt=fmt, split_chapters=split_chapters, subtitles=subtitles
        )


def _conform(chapters: list[EncodedChapter], spec: FormatSpec, work_dir: Path) -> list[EncodedChapter]:
    """Re-encode chapters whose format or sample rate differs from the first chapter's."""
    rate = next((c.sample_rate for c in chapters if c.fmt == spec.name), chapters[0].sample_rate)
    encoders: dict[str, ChapterEncoder] = {}
    result = []
    for ch in chapters:
        if ch.fmt == spec.name and ch.sample_rate == rate:
            result.append(ch)
            continue
        if ch.source is None:
            raise AssemblyError(
                f"chapter {ch.index + 1} was encoded as {ch.fmt} at {ch.sample_rate} Hz "
                f"and its unit audio is unknown, so it cannot be converted to {spec.name} at {rate} Hz"
            )
        encoder = encoders.get(ch.bitrate)
        if encoder is None:
            encoder = ChapterEncoder(work_dir, fmt=spec.name, bitrate=ch.bitrate, sample_rate=rate)
            encoders[ch.bitrate] = encoder
        again = encoder.encode(ch.source)
        if not again.is_empty:
            result.append(again)
    return result


def _tags_file(folder: Path, name: str, tags: dict[str, str], marks: list[ChapterMark], timebase: int) -> Path:
    path = folder / name
    path.write_text(render_ffmetadata(tags, marks, timebase), encoding="utf-8")
    return path


def _title(ch: EncodedChapter) -> str:
    return ch.title.strip() or f"Chapter {ch.index + 1}"


def _shifted(cues: list[Cue], seconds: float) -> list[Cue]:
    return [Cue(c.text, c.start + seconds, c.end + seconds) for c in cues]


def _join_pieces(spec: FormatSpec, chapters: list[EncodedChapter]) -> tuple[list[int], list[JoinPiece], int]:
    """Where each encoded part starts in the joined stream (samples), the pieces to join, and the end."""
    if spec.lossless:
        starts, total = [], 0
        for ch in chapters:
            starts.append(total)
            total += ch.samples
        return starts, [JoinPiece(ch.path) for ch in chapters], total
    steps = plan_join(chapters)
    starts = [s.content_start for s in steps]
    pieces = [
        JoinPiece(
            ch.path,
            kept=None if i == len(chapters) - 1 else step.kept,
            lead=ch.lead,
            frame=ch.frame_samples,
            span=step.kept * ch.frame_samples + ch.join_gap,
        )
        for i, (ch, step) in enumerate(zip(chapters, steps))
    ]
    return starts, pieces, starts[-1] + round(chapters[-1].codec_samples)


def _groups(chapters: list[EncodedChapter]) -> list[list[EncodedChapter]]:
    """Consecutive parts of the same chapter (a chapter may be encoded in segments) form one group."""
    groups: list[list[EncodedChapter]] = []
    for ch in chapters:
        if groups and groups[-1][0].index == ch.index:
            groups[-1].append(ch)
        else:
            groups.append([ch])
    return groups


def _write_single(ffmpeg, spec, chapters, meta, out_path, tmp, cover, picture, language, kind) -> list[Path]:
    rate = chapters[0].codec_rate
    starts, pieces, end = _join_pieces(spec, chapters)
    part_starts = [0] + starts[1:]
    marks: list[ChapterMark] = []
    position = 0
    for group in _groups(chapters):
        begin = part_starts[position]
        position += len(group)
        marks.append(ChapterMark(begin, part_starts[position] if position < len(chapters) else end, _title(group[0])))
    tags = book_tags(meta)
    if spec.chapter_tags:
        tags.update(vorbis_chapter_tags(marks, rate))
    if picture:
        tags["METADATA_BLOCK_PICTURE"] = picture
    metadata = _tags_file(tmp, "book.ffmeta", tags, [] if spec.chapter_tags else marks, rate)
    join_to_file(
        ffmpeg, spec, pieces, rate, out_path,
        metadata=metadata, cover=cover, language=language, what=f"writing {out_path.name}",
    )
    written = [out_path]
    if kind:
        cues = [cue for ch, start in zip(chapters, starts) for cue in _shifted(ch.cues, start / rate)]
        written.append(write_subtitles(cues, out_path.with_suffix("." + kind), kind))
    return written


def _write_split(ffmpeg, spec, chapters, meta, out_path, tmp, cover, picture, language, kind) -> list[Path]:
    folder = out_path.parent / out_path.stem
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssemblyError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    groups = _groups(chapters)
    width = max(2, len(str(len(groups))))
    audio: list[Path] = []
    subs: list[Path] = []
    for track, group in enumerate(groups, 1):
        first = group[0]
        title = _title(first)
        dest = folder / f"{track:0{width}d} - {safe_filename(title, f'Chapter {first.index + 1}')}{spec.extension}"
        tags = chapter_tags(meta, title, track, len(groups))
        if picture:
            tags["METADATA_BLOCK_PICTURE"] = picture
        metadata = _tags_file(tmp, f"track{track}.ffmeta", tags, [], first.codec_rate)
        if len(group) == 1:
            pieces = [JoinPiece(first.path, lead=first.lead, frame=first.frame_samples)]
            offsets = [first.content_offset]
        else:
            offsets, pieces, _ = _join_pieces(spec, group)
        join_to_file(
            ffmpeg, spec, pieces, first.codec_rate, dest,
            metadata=metadata, cover=cover, language=language, what=f"writing {dest.name}",
        )
        audio.append(dest)
        if kind:
            cues = [cue for ch, off in zip(group, offsets) for cue in _shifted(ch.cues, off / ch.codec_rate)]
            subs.append(write_subtitles(cues, dest.with_suffix("." + kind), kind))
    return audio + subs
