"""--split-chapters: one file per chapter, each the chapter's length, tagged with its track."""

from __future__ import annotations

import pytest

from tests.support.assembly_helpers import (
    MARKER_AT,
    attached_pictures,
    audio_tags,
    book_meta,
    decode,
    ffprobe,
    jpeg_cover,
    locate,
    marker,
    marker_key,
    subtitle_cues,
    tone_book,
)
from tui.assembly import ChapterAudio, ChapterEncoder, finish_audiobook

RATE = 22050
TITLES = ['Prologue: "Ready?"', "Part 2/3 <draft>", "Épilogue*"]


@pytest.fixture(scope="module")
def split_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("split")
    book = tone_book(root / "units", chapters=3, units=2, seed=23, titles=TITLES)
    encoder = ChapterEncoder(root / "work", fmt="m4b")
    encoded = [encoder.encode(ch) for ch in book.chapters]
    encoded.append(encoder.encode(ChapterAudio(3, "Empty", [])))  # nothing to write
    out = root / "out" / "Tone Book.m4b"
    paths = finish_audiobook(encoded, book_meta(jpeg_cover(root)), out, split_chapters=True, subtitles="srt")
    return root, book, paths


def test_one_file_per_chapter_with_safe_names(split_book):
    root, book, paths = split_book
    folder = root / "out" / "Tone Book"
    audio = [p for p in paths if p.suffix == ".m4b"]
    assert [p.name for p in audio] == ["01 - Prologue Ready.m4b", "02 - Part 2 3 draft.m4b", "03 - Épilogue.m4b"]
    assert all(p.parent == folder for p in paths)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)
    assert not (root / "out" / "Tone Book.m4b").exists()


def test_each_file_lasts_as_long_as_its_chapter(split_book):
    root, book, paths = split_book
    audio = [p for p in paths if p.suffix == ".m4b"]
    for path, seconds in zip(audio, book.chapter_seconds):
        info = ffprobe(path)
        assert abs(float(info["format"]["duration"]) - seconds) <= 0.050, (path.name, seconds)
        assert info["chapters"] == []


def test_each_file_starts_with_its_own_audio(split_book):
    root, book, paths = split_book
    audio = [p for p in paths if p.suffix == ".m4b"]
    for c, path in enumerate(audio):
        decoded = decode(path, RATE)
        for u, start in enumerate(book.unit_starts(c)):
            expected = round(start * RATE) + MARKER_AT
            found = locate(decoded, marker(RATE, marker_key(c, u)), expected, RATE // 2)
            assert abs(found - expected) <= RATE * 0.002, (path.name, u, found - expected)


def test_track_numbers_titles_tags_and_cover(split_book):
    root, book, paths = split_book
    audio = [p for p in paths if p.suffix == ".m4b"]
    for n, (path, title) in enumerate(zip(audio, TITLES), 1):
        info = ffprobe(path)
        tags = audio_tags(info)
        assert tags["track"] == f"{n}/3"
        assert tags["title"] == title
        assert tags["album"] == "The Tone Book"
        assert tags["artist"] == "Ada Lovelace, Charles Babbage"
        assert tags["genre"] == "Audiobook"
        assert tags["date"] == "1843"
        assert len(attached_pictures(info)) == 1


def test_each_file_gets_its_own_subtitles(split_book):
    root, book, paths = split_book
    subs = [p for p in paths if p.suffix == ".srt"]
    assert [p.stem for p in subs] == [p.stem for p in paths if p.suffix == ".m4b"]
    for c, path in enumerate(subs):
        expected = []
        for unit, start in zip(book.chapters[c].units, book.unit_starts(c)):
            expected += [(start + s, start + e) for _, s, e in unit.sentences]
        got = subtitle_cues(path)
        assert len(got) == len(expected)
        for (gs, ge), (es, ee) in zip(got, expected):
            assert abs(gs - es) <= 0.002 and abs(ge - ee) <= 0.002
        assert f"Chapter {c} unit 0 first." in path.read_text(encoding="utf-8")
