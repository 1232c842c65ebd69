"""Titles and tags with characters FFMETADATA treats specially survive the round trip."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.assembly_helpers import audio_tags, book_meta, chapter_titles, ffprobe, tone_book
from tui.assembly import assemble
from tui.assembly.ffmetadata import ChapterMark, render_ffmetadata
from tui.assembly.filenames import safe_filename
from tui.assembly.tags import iso639_2

ODD_TITLES = [
    'He said "hi"; she said \'bye\' = #1',
    "Back\\slash and # hash at ;start",
    "Two\nlines",
    "Ünïcödé — 日本語",
]


def test_ffmetadata_escaping_is_read_back_by_ffmpeg(tmp_path):
    tags = {"title": ODD_TITLES[0], "comment": "a=b;c#d\\e\nnext line", "empty": ""}
    marks = [ChapterMark(0, 441, ODD_TITLES[1]), ChapterMark(441, 882, ODD_TITLES[2])]
    path = tmp_path / "meta.txt"
    path.write_text(render_ffmetadata(tags, marks, 22050), encoding="utf-8")
    info = ffprobe(path, "-f", "ffmetadata")
    assert info["format"]["tags"]["title"] == ODD_TITLES[0]
    assert info["format"]["tags"]["comment"] == "a=b;c#d\\e\nnext line"
    assert "empty" not in info["format"]["tags"]
    assert chapter_titles(info) == ODD_TITLES[1:3]
    assert [(c["start"], c["end"], c["time_base"]) for c in info["chapters"]] == [(0, 441, "1/22050"), (441, 882, "1/22050")]


@pytest.mark.parametrize("fmt", ["m4b", "opus", "mp3"])
def test_odd_titles_round_trip_through_the_output(tmp_path, fmt):
    book = tone_book(tmp_path / "units", chapters=4, units=1, seed=3, min_s=0.4, max_s=0.6, titles=ODD_TITLES)
    meta = book_meta(title='A "Book"; = # \\ Title', description="First line.\nSecond; = # line.")
    out = tmp_path / f"odd.{fmt}"
    assemble(book.chapters, meta, out, fmt=fmt)
    info = ffprobe(out)
    titles = chapter_titles(info)
    if fmt == "opus":  # Vorbis chapter names are one line
        assert titles == [" ".join(t.split()) for t in ODD_TITLES]
    else:
        assert titles == ODD_TITLES
    tags = audio_tags(info)
    assert tags["title"] == 'A "Book"; = # \\ Title'
    assert tags.get("comment", tags.get("description")) == "First line.\nSecond; = # line."


def test_output_names_are_sanitized():
    assert safe_filename('a/b\\c:d*e?f"g<h>i|j', "x") == "a b c d e f g h i j"
    assert safe_filename("Two\nlines\t ok ", "x") == "Two lines ok"
    assert safe_filename(" ... ", "Chapter 3") == "Chapter 3"
    assert safe_filename("Ünïcödé — 日本語", "x") == "Ünïcödé — 日本語"
    assert len(safe_filename("long " * 100, "x")) <= 100


def test_language_codes_for_mp4():
    assert iso639_2("en") == "eng"
    assert iso639_2("en-US") == "eng"
    assert iso639_2("de_DE") == "ger"
    assert iso639_2("fra") == "fra"
    assert iso639_2("xx") is None


def test_ffmpeg_reads_our_mp4_language(tmp_path):
    book = tone_book(tmp_path / "units", chapters=1, units=1, seed=9, min_s=0.4, max_s=0.5)
    out = tmp_path / "de.m4b"
    assemble(book.chapters, book_meta(language="de"), out)
    audio = next(s for s in ffprobe(out)["streams"] if s["codec_type"] == "audio")
    assert audio["tags"]["language"] == "ger"
    assert subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "null", "-"]).returncode == 0
