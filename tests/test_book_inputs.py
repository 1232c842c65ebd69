"""Inputs other than EPUB: plain text, Markdown, HTML, and calibre's formats."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.book_helpers import make_prose_epub
from tui.book.ingest import load_book
from tui.book.model import BookError

GUTENBERG = textwrap.dedent(
    """\
    The Project Gutenberg eBook of A Tiny Tale

    Title: A Tiny Tale
    Author: Ann Writer
    Language: English

    *** START OF THE PROJECT GUTENBERG EBOOK A TINY TALE ***

    CHAPTER I.

    The Beginning

    It was a dark night. The wind
    blew hard across the moor.

    Nobody slept.

    CHAPTER II.

    The Morning came, grey and cold.

    *** END OF THE PROJECT GUTENBERG EBOOK A TINY TALE ***

    Licence text that must not be read.
    """
)


def test_plain_text_with_chapters_and_gutenberg_boilerplate(tmp_path):
    path = tmp_path / "tale.txt"
    path.write_text(GUTENBERG, encoding="utf-8")
    book = load_book(path)
    assert book.meta.title == "A Tiny Tale" and book.meta.authors == ["Ann Writer"] and book.meta.language == "en"
    assert [ch.title for ch in book.chapters] == ["CHAPTER I. The Beginning", "CHAPTER II."]
    assert book.chapters[0].paragraphs == ["It was a dark night. The wind blew hard across the moor.", "Nobody slept."]
    assert book.chapters[1].paragraphs == ["The Morning came, grey and cold."]
    assert "Licence" not in "".join(ch.text for ch in book.chapters)


def test_plain_text_without_headings_and_legacy_encoding(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("Caf\xe9 au lait.\n\nSecond paragraph.\n".encode("cp1252"))
    book = load_book(path)
    assert book.meta.title == "notes"
    assert [ch.title for ch in book.chapters] == ["notes"]
    assert book.chapters[0].paragraphs == ["Café au lait.", "Second paragraph."]


def test_empty_text(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n   \n")
    with pytest.raises(BookError, match="empty"):
        load_book(path)


def test_markdown(tmp_path):
    path = tmp_path / "story.md"
    path.write_text(
        "---\ntitle: Markdown Story\n---\n# One\n\nFirst *emphatic* paragraph with a [link](http://x).\n\n"
        "```\ncode stays text\n```\n\n# Two\n\n- item a\n- item b\n"
    )
    book = load_book(path)
    assert book.meta.title == "Markdown Story"
    assert [ch.title for ch in book.chapters] == ["One", "Two"]
    assert book.chapters[0].paragraphs == ["First emphatic paragraph with a link.", "code stays text"]
    assert book.chapters[1].paragraphs == ["item a", "item b"]


def test_html_file_is_cut_at_repeated_headings(tmp_path):
    path = tmp_path / "book.html"
    path.write_text(
        "<html lang='fr'><head><title>Le Livre</title><style>p{}</style></head><body>"
        "<p>Avant-propos.</p><h2>Un</h2><p>Premier&nbsp;texte.</p><script>x()</script>"
        "<h2>Deux</h2><p>Second texte.<br>Ligne.</p></body></html>"
    )
    book = load_book(path)
    assert book.meta.title == "Le Livre" and book.meta.language == "fr"
    assert [(ch.title, ch.paragraphs) for ch in book.chapters] == [
        ("Le Livre", ["Avant-propos."]), ("Un", ["Premier texte."]), ("Deux", ["Second texte.", "Ligne."])]


def _path_without_calibre(tmp_path: Path) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    return str(bindir)


def test_calibre_format_without_calibre(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_without_calibre(tmp_path))
    path = tmp_path / "book.mobi"
    path.write_bytes(b"BOOKMOBI")
    with pytest.raises(BookError) as info:
        load_book(path)
    message = str(info.value)
    assert ".mobi" in message and "ebook-convert" in message and "calibre" in message and "\n" not in message


def _fake_converter(tmp_path: Path, body: str) -> str:
    """An ``ebook-convert`` stand-in on PATH (the command line is our seam; calibre is not installed here)."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    script = bindir / "ebook-convert"
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(bindir) + os.pathsep + os.environ.get("PATH", "")


def test_calibre_conversion_result_is_read_as_epub(tmp_path, monkeypatch):
    source = make_prose_epub(tmp_path / "made.epub", [["Converted text."]], title="Converted")
    monkeypatch.setenv("PATH", _fake_converter(tmp_path, (
        "import shutil, sys\n"
        "assert sys.argv[1].endswith('.odt') and sys.argv[2].endswith('.epub')\n"
        f"shutil.copy({str(source)!r}, sys.argv[2])\n"
    )))
    path = tmp_path / "novel.odt"
    path.write_bytes(b"PK\x03\x04 not really an ODT")
    book = load_book(path)
    assert book.chapters[0].paragraphs == ["Converted text."]
    assert book.source_path == path


def test_calibre_failure_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _fake_converter(tmp_path, (
        "import sys\nprint('Traceback (most recent call last):', file=sys.stderr)\n"
        "print('calibre.ebooks.DRMError: This file is locked with DRM', file=sys.stderr)\nsys.exit(1)\n"
    )))
    path = tmp_path / "locked.azw3"
    path.write_bytes(b"x")
    with pytest.raises(BookError) as info:
        load_book(path)
    assert str(info.value) == "ebook-convert could not convert locked.azw3: calibre.ebooks.DRMError: This file is locked with DRM"


def test_prose_lines_are_not_taken_for_chapter_headings(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("Part of me wanted to stay.\n\nBook lovers know this.\n\nPART TWO\n\nChapter Twenty-One\n\nEnd.\n")
    book = load_book(path)
    # a part heading with nothing under it is not a chapter of its own
    assert [ch.title for ch in book.chapters] == ["lines", "Chapter Twenty-One"]
    assert book.chapters[0].paragraphs == ["Part of me wanted to stay.", "Book lovers know this."]
