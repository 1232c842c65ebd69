"""mp3, opus and flac outputs: right duration, marks, tags and cover; FLAC is sample-exact."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.support.assembly_helpers import (
    MARKER_AT,
    attached_pictures,
    audio_tags,
    book_meta,
    chapter_starts,
    chapter_titles,
    decode,
    ffprobe,
    jpeg_cover,
    locate,
    marker,
    marker_key,
    probed_seconds,
    tone_book,
)
from tui.assembly import assemble

RATE = 22050
CODEC = {"mp3": "mp3", "opus": "opus", "flac": "flac"}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    book = tone_book(root / "units", chapters=3, units=2, seed=31)
    return root, book, jpeg_cover(root)


@pytest.fixture(scope="module", params=["mp3", "opus", "flac"])
def built(request, source):
    root, book, cover = source
    fmt = request.param
    out = root / fmt / f"book.{fmt}"
    paths = assemble(book.chapters, book_meta(cover), out, fmt=fmt, work_dir=root / fmt / "work")
    return fmt, book, paths[0], ffprobe(paths[0])


def test_codec_and_duration(built):
    fmt, book, path, info = built
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(audio) == 1 and audio[0]["codec_name"] == CODEC[fmt] and audio[0]["channels"] == 1
    assert abs(probed_seconds(path, info) - book.total) <= 0.050
    decoded_seconds = len(decode(path, RATE)) / RATE
    assert abs(decoded_seconds - book.total) <= 0.060


def test_marks_on_true_boundaries_and_on_the_audio(built):
    fmt, book, path, info = built
    marks = chapter_starts(info)
    assert chapter_titles(info) == ["Chapter 1", "Chapter 2", "Chapter 3"]
    assert max(abs(m - t) for m, t in zip(marks, book.true_starts)) <= 0.050, marks
    decoded = decode(path, RATE)
    for c, mark in enumerate(marks[1:], 1):
        expected = round(mark * RATE) + MARKER_AT
        found = locate(decoded, marker(RATE, marker_key(c, 0)), expected, RATE)
        assert abs(found - expected) <= RATE * 0.003, (fmt, c, found - expected)


def test_tags_and_cover(built):
    fmt, book, path, info = built
    tags = audio_tags(info)
    assert tags["title"] == "The Tone Book"
    assert tags["album"] == "The Tone Book"
    assert tags["artist"] == "Ada Lovelace, Charles Babbage"
    assert tags["genre"] == "Audiobook"
    assert tags["date"] == "1843"
    assert tags.get("comment", tags.get("description")) == "Notes on the engine."
    pictures = attached_pictures(info)
    assert len(pictures) == 1 and (pictures[0]["width"], pictures[0]["height"]) == (96, 128)


def test_flac_is_sample_exact(source, tmp_path):
    root, book, cover = source
    out = tmp_path / "exact.flac"
    assemble(book.chapters, book_meta(), out, fmt="flac")
    joined = np.concatenate([sf.read(u.path, dtype="int16")[0] for ch in book.chapters for u in ch.units])
    written, rate = sf.read(out, dtype="int16")
    assert rate == RATE
    assert np.array_equal(written, joined)
    marks = chapter_starts(ffprobe(out))
    assert max(abs(m - t) for m, t in zip(marks, book.true_starts)) <= 0.001


@pytest.mark.parametrize("fmt", ["mp3", "opus", "flac"])
def test_split_files_last_as_long_as_their_chapters(source, tmp_path, fmt):
    root, book, cover = source
    paths = assemble(book.chapters, book_meta(), tmp_path / f"Book.{fmt}", fmt=fmt, split_chapters=True)
    assert len(paths) == 3
    for n, (path, seconds) in enumerate(zip(paths, book.chapter_seconds), 1):
        assert path.parent == tmp_path / "Book" and path.suffix == f".{fmt}"
        info = ffprobe(path)
        assert abs(probed_seconds(path, info) - seconds) <= 0.050, (path.name, seconds)
        assert abs(len(decode(path, RATE)) / RATE - seconds) <= 0.050
        assert audio_tags(info)["track"] == f"{n}/3"
