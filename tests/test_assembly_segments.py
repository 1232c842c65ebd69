"""Chapters encoded in segments (runs of units, as units complete) still get one mark each,
on the true boundary, with every unit's audio where it belongs."""

from __future__ import annotations

import pytest

from tests.support.assembly_helpers import (
    MARKER_AT,
    book_meta,
    chapter_starts,
    chapter_titles,
    decode,
    ffprobe,
    locate,
    marker,
    marker_key,
    subtitle_cues,
    tone_book,
)
from tui.assembly import ChapterEncoder, finish_audiobook
from tui.assembly.model import ChapterAudio

RATE = 22050


def _segments(book, sizes: list[list[int]]) -> list[ChapterAudio]:
    """Cut each chapter's units into consecutive segments of the given sizes."""
    out = []
    for chapter, cut in zip(book.chapters, sizes):
        at = 0
        for size in cut:
            out.append(ChapterAudio(chapter.index, chapter.title, chapter.units[at : at + size]))
            at += size
        assert at == len(chapter.units)
    return out


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    root = tmp_path_factory.mktemp("segments")
    book = tone_book(root / "units", chapters=3, units=4, seed=5)
    encoder = ChapterEncoder(root / "work", fmt="m4b", bitrate="64k")
    parts = [encoder.encode(seg) for seg in _segments(book, [[1, 2, 1], [4], [2, 2]])]
    return root, book, parts


def test_one_mark_per_chapter_on_the_true_boundary(segmented):
    root, book, parts = segmented
    out = root / "book.m4b"
    finish_audiobook(parts, book_meta(), out, subtitles="vtt")
    info = ffprobe(out)
    assert chapter_titles(info) == ["Chapter 1", "Chapter 2", "Chapter 3"]
    marks = chapter_starts(info)
    for mark, true in zip(marks, book.true_starts):
        assert abs(mark - true) <= 0.050, (marks, book.true_starts)
    assert abs(float(info["chapters"][-1]["end_time"]) - book.total) <= 0.050
    decoded = decode(out, RATE)
    for c, mark in enumerate(marks):
        for u, unit_start in enumerate(book.unit_starts(c)):
            expected = round((mark + unit_start) * RATE) + MARKER_AT
            found = locate(decoded, marker(RATE, marker_key(c, u)), expected, RATE)
            assert abs(found - expected) <= RATE * 0.025, (c, u, found - expected)
    cues = subtitle_cues(out.with_suffix(".vtt"))
    assert len(cues) == 3 * 4 * 2


def test_split_chapters_join_their_segments(segmented):
    root, book, parts = segmented
    out = root / "split.m4b"
    paths = finish_audiobook(parts, book_meta(), out, split_chapters=True)
    assert [p.name for p in paths] == ["01 - Chapter 1.m4b", "02 - Chapter 2.m4b", "03 - Chapter 3.m4b"]
    for path, seconds in zip(paths, book.chapter_seconds):
        assert abs(float(ffprobe(path)["format"]["duration"]) - seconds) <= 0.050
