"""FictionBook 2 read directly with the hardened lxml parser, and matter recognised by title and position."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from tests.support.book_helpers import COVER_PNG
from tui.book.ingest import SUPPORTED_SUFFIXES, load_book
from tui.book.matter import drop_unmarked_matter
from tui.book.model import Book, BookError, BookMeta, Chapter

NS = 'xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" xmlns:l="http://www.w3.org/1999/xlink"'
PROSE = "The lamps were lit along the quay and the boats came in one after another. " * 8


def _fb2(tmp_path: Path, body: str, *, title: str = "The Lantern Book", extra: str = "", prolog: str = "") -> Path:
    path = tmp_path / "book.fb2"
    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<FictionBook {NS}><description><title-info>'
        f"<genre>prose</genre><author><first-name>Ada</first-name><last-name>Example</last-name></author>"
        f'<book-title>{title}</book-title><lang>en</lang><coverpage><image l:href="#cover.png"/></coverpage>'
        f"</title-info><publish-info><publisher>Test Press</publisher><year>2020</year></publish-info>"
        f"</description>{body}{extra}"
        f'<binary id="cover.png" content-type="image/png">{base64.b64encode(COVER_PNG).decode()}</binary>'
        "</FictionBook>",
        encoding="utf-8",
    )
    return path


def test_fb2_is_a_supported_input():
    assert ".fb2" in SUPPORTED_SUFFIXES


def test_nested_sections_are_chapters_and_untitled_ones_take_their_first_heading(tmp_path):
    body = (
        "<body><title><p>The Lantern Book</p></title>"
        "<section><title><p>Part One</p></title>"
        f"<section><title><p>Chapter 1</p><p>The Quay</p></title><p>{PROSE}</p>"
        '<p>She counted them.<a l:href="#n1" type="note">1</a> Then she went home.</p></section>'
        f"<section><subtitle>The Boats</subtitle><p>{PROSE}</p><poem><stanza><v>Row, row</v><v>ashore</v></stanza></poem>"
        "</section></section>"
        f"<section><p><strong>Part Two</strong></p><p>{PROSE}</p><p>42</p></section>"
        "</body>"
    )
    notes = '<body name="notes"><section id="n1"><title><p>1</p></title><p>A note never read aloud.</p></section></body>'
    book = load_book(_fb2(tmp_path, body, extra=notes))
    assert [ch.title for ch in book.chapters] == ["Chapter 1 The Quay", "The Boats", "Part Two"]
    first, second, third = book.chapters
    assert first.paragraphs[-1] == "She counted them. Then she went home."
    assert second.paragraphs[-2:] == ["Row, row", "ashore"]
    assert "42" not in third.paragraphs  # a bare page number
    assert "never read aloud" not in "\n".join(ch.text for ch in book.chapters)
    assert book.meta.title == "The Lantern Book" and book.meta.authors == ["Ada Example"]
    assert book.meta.language == "en" and book.meta.publisher == "Test Press" and book.meta.year == "2020"
    assert book.meta.cover == COVER_PNG and book.meta.cover_mime == "image/png"
    with_notes = load_book(tmp_path / "book.fb2", include_all=True)
    assert "A note never read aloud." in with_notes.chapters[-1].text


def test_title_holding_the_whole_section_gives_its_heading_and_keeps_the_text(tmp_path):
    body = f"<body><section><title><p>12</p><p><strong>The Storm</strong></p><p>{PROSE}</p><p>{PROSE}</p></title></section></body>"
    book = load_book(_fb2(tmp_path, body))
    assert [ch.title for ch in book.chapters] == ["The Storm"]
    assert book.chapters[0].words > 200


def test_front_and_back_matter_by_title_and_position(tmp_path):
    body = (
        "<body><section><p><strong>The Lantern Book</strong></p><p>Ada Example</p></section>"
        "<section><title><p>Contents</p></title><p>The Quay</p><p>Notes</p></section>"
        "<section><title><p>Copyright</p></title><p>All rights reserved.</p></section>"
        f"<section><title><p>The Quay</p></title><p>{PROSE}</p></section>"
        f"<section><title><p>Notes from the Harbour</p></title><p>{PROSE}</p></section>"
        f"<section><title><p>Notes</p></title><p>1. A note.</p></section>"
        "</body>"
    )
    book = load_book(_fb2(tmp_path, body))
    assert [ch.title for ch in book.chapters] == ["The Quay", "Notes from the Harbour"]
    everything = load_book(tmp_path / "book.fb2", include_all=True)
    assert [ch.title for ch in everything.chapters][0] == "The Lantern Book" and len(everything.chapters) == 6


def test_a_bare_number_and_a_name_line_make_one_title(tmp_path):
    """calibre writes a heading group (``<h2>II</h2><p>The Imprint of a Hand</p>``) as a number, then a line:
    one title, as the EPUB's table of contents names it. A first line of verse is no name."""
    body = (
        f"<body><section><title><p><strong>II</strong></p></title><p>The Imprint of a Hand</p><p>{PROSE}</p></section>"
        f"<section><p><strong>III.</strong></p><p>The Harbour Light</p><p>{PROSE}</p></section>"
        f"<section><title><p>IV</p></title><p>April is the cruellest month, breeding</p><p>{PROSE}</p></section>"
        "</body>"
    )
    book = load_book(_fb2(tmp_path, body))
    assert [ch.title for ch in book.chapters] == ["II: The Imprint of a Hand", "III: The Harbour Light", "IV"]
    assert book.chapters[0].paragraphs[0].startswith("The lamps")
    assert book.chapters[2].paragraphs[0] == "April is the cruellest month, breeding"


def _book(titles_and_words: list[tuple[str, int]], title: str = "Lanterns") -> Book:
    chapters = [Chapter(i, t, [" ".join(["word"] * n)]) for i, (t, n) in enumerate(titles_and_words)]
    return Book(meta=BookMeta(title=title), chapters=chapters)


@pytest.mark.parametrize(
    "chapters, kept",
    [
        ([("Lanterns", 40), ("One", 900), ("Two", 900)], ["One", "Two"]),
        ([("Lanterns", 2000), ("Two", 900)], ["Lanterns", "Two"]),  # long: the first chapter, named like the book
        ([("One", 900), ("Lanterns", 40)], ["One", "Lanterns"]),  # only a title page at the start
        ([("One", 900), ("Notes", 300), ("Two", 900)], ["One", "Notes", "Two"]),  # notes only at the end
        ([("One", 900), ("Notes on Lanterns", 300)], ["One"]),
        ([("One", 900), ("Index", 300), ("Two", 900), ("Colophon", 30)], ["One", "Two"]),
        ([("Table of Contents", 30), ("Prologue", 300), ("Epilogue", 300), ("Acknowledgements", 80)],
         ["Prologue", "Epilogue", "Acknowledgements"]),
        ([("Contents", 30), ("Index", 30)], ["Contents", "Index"]),  # never leaves a book empty
    ],
)
def test_matter_rules_never_take_a_real_chapter(chapters, kept):
    book = _book(chapters)
    drop_unmarked_matter(book)
    assert [ch.title for ch in book.chapters] == kept
    assert [ch.index for ch in book.chapters] == list(range(len(kept)))


def test_hostile_fb2_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    lol = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    prolog = f'<!DOCTYPE FictionBook [{lol}<!ENTITY xxe SYSTEM "file://{secret}">]>'
    body = f"<body><section><title><p>One</p></title><p>Start &lol9; and &xxe; end. {PROSE}</p></section></body>"
    started = time.perf_counter()
    book = load_book(_fb2(tmp_path, body, prolog=prolog))
    assert time.perf_counter() - started < 30
    text = book.chapters[0].text
    assert "lol" not in text and "TOP-SECRET" not in text and text.startswith("Start")
    assert book.warnings  # libxml2's own amplification guard stopped it; read leniently, nothing expanded
    only_xxe = f'<!DOCTYPE FictionBook [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    book = load_book(_fb2(tmp_path, body.replace("&lol9; ", ""), prolog=only_xxe))
    assert book.chapters[0].text.startswith("Start and end.") and "TOP-SECRET" not in book.chapters[0].text


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"", "empty"),
        (b"<html><body><p>x</p></body></html>", "not a FictionBook 2 file"),
        (b"<FictionBook><body><section><p>unclosed", "no readable text"),
        (b"\x00\x01binary garbage", "not well-formed"),
    ],
)
def test_bad_fb2_is_one_line(tmp_path, content, needle):
    path = tmp_path / "bad.fb2"
    path.write_bytes(content)
    with pytest.raises(BookError) as info:
        load_book(path)
    assert needle in str(info.value) and "\n" not in str(info.value)
