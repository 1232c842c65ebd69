"""A three-chapter m4b built the way the orchestrator builds it: chapters encoded as
they complete (out of order, in threads), then one cheap finish step."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

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
    packet_crcs,
    tone_book,
)
from tui.assembly import ChapterEncoder, finish_audiobook
from tui.assembly.joinplan import plan_join

RATE = 22050


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("m4b")
    book = tone_book(root / "units", chapters=3, units=3, seed=11)
    encoder = ChapterEncoder(root / "work", fmt="m4b", bitrate="64k")
    with ThreadPoolExecutor(max_workers=3) as pool:  # completion order is not chapter order
        encoded = list(pool.map(encoder.encode, list(reversed(book.chapters))))
    cover = jpeg_cover(root)
    out = root / "out" / "Tone Book.m4b"
    paths = finish_audiobook(encoded, book_meta(cover), out, fmt="m4b")
    return book, encoded, paths, ffprobe(out)


def test_writes_one_file_and_nothing_else(built):
    book, encoded, paths, info = built
    assert [p.name for p in paths] == ["Tone Book.m4b"]
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["Tone Book.m4b"]  # no temp leftovers
    assert info["format"]["format_name"].startswith("mov")
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(audio) == 1 and audio[0]["codec_name"] == "aac"
    assert audio[0]["channels"] == 1 and int(audio[0]["sample_rate"]) == RATE
    assert 48_000 <= int(audio[0]["bit_rate"]) <= 80_000


def test_chapter_marks_within_50ms_of_true_boundaries(built):
    book, encoded, paths, info = built
    marks = chapter_starts(info)
    assert len(marks) == 3
    for mark, true in zip(marks, book.true_starts):
        assert abs(mark - true) <= 0.050, (marks, book.true_starts)
    assert chapter_titles(info) == ["Chapter 1", "Chapter 2", "Chapter 3"]
    last_end = float(info["chapters"][-1]["end_time"])
    assert abs(last_end - book.total) <= 0.050


def test_marks_sit_where_each_chapters_audio_really_is(built):
    book, encoded, paths, info = built
    decoded = decode(paths[0], RATE)
    for c, mark in enumerate(chapter_starts(info)):
        for u, unit_start in enumerate(book.unit_starts(c)):
            expected = round((mark + unit_start) * RATE) + MARKER_AT
            found = locate(decoded, marker(RATE, marker_key(c, u)), expected, RATE)
            assert abs(found - expected) <= RATE * 0.002, (c, u, found - expected)


def test_duration_matches_the_units(built):
    book, encoded, paths, info = built
    assert abs(float(info["format"]["duration"]) - book.total) <= 0.050
    assert abs(len(decode(paths[0], RATE)) / RATE - book.total) <= 0.050 + 1024 / RATE


def test_tags_and_cover(built):
    book, encoded, paths, info = built
    tags = audio_tags(info)
    assert tags["title"] == "The Tone Book"
    assert tags["album"] == "The Tone Book"
    assert tags["artist"] == "Ada Lovelace, Charles Babbage"
    assert tags["genre"] == "Audiobook"
    assert tags["date"] == "1843"
    assert tags["comment"] == "Notes on the engine."
    assert tags["description"] == "Notes on the engine."
    assert tags["language"] == "eng"
    pictures = attached_pictures(info)
    assert len(pictures) == 1 and pictures[0]["codec_name"] == "mjpeg"
    assert (pictures[0]["width"], pictures[0]["height"]) == (96, 128)


def test_finish_copies_the_encoded_packets_without_reencoding(built):
    book, encoded, paths, info = built
    ordered = sorted(encoded, key=lambda e: e.index)
    expected = []
    for ch, step in zip(ordered, plan_join(ordered)):
        expected += packet_crcs(ch.path)[: step.kept]
    assert packet_crcs(paths[0]) == expected


def test_encoded_chapters_survive_a_json_round_trip_and_finish_the_same(built, tmp_path):
    import json

    from tui.assembly import EncodedChapter

    book, encoded, paths, info = built
    again = [EncodedChapter.from_dict(json.loads(json.dumps(e.to_dict()))) for e in encoded]
    assert again == encoded
    out = tmp_path / "again.m4b"
    finish_audiobook(again, book_meta(), out)
    assert packet_crcs(out) == packet_crcs(paths[0])
    assert chapter_starts(ffprobe(out)) == chapter_starts(info)
