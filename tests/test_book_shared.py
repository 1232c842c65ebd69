"""Real EPUBs from ../shared/books: the EPUB 3 samples and the W3C conformance tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.support.book_helpers import SHARED_BOOKS
from tui.book.ingest import load_book
from tui.book.model import Book, BookError

W3C = SHARED_BOOKS / "w3c"
W3C_BOOKS = sorted(W3C.glob("*.epub")) if W3C.is_dir() else []


def _shared(name: str) -> Path:
    path = SHARED_BOOKS / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return path


def test_childrens_literature_is_one_long_chapter():
    book = load_book(_shared("childrens-literature.epub"))
    assert book.meta.title == "Children's Literature"
    assert book.meta.authors == ["Charles Madison Curry", "Erle Elsworth Clippinger"]
    assert book.meta.cover and book.meta.cover_mime == "image/png"
    assert [ch.title for ch in book.chapters] == ["SECTION IV FAIRY STORIES—MODERN FANTASTIC TALES"]
    chapter = book.chapters[0]
    assert 50_000 < chapter.words < 60_000
    assert chapter.paragraphs[0] == "INTRODUCTORY"  # the bibliography section before it is back matter
    assert "Alden, Raymond Macdonald" not in chapter.text
    # page-break markers (<span epub:type="pagebreak">190</span>) are not read
    assert "who suffer. I will sing of good and of evil" in chapter.text
    with_all = load_book(_shared("childrens-literature.epub"), include_all=True)
    assert [ch.title for ch in with_all.chapters][-1] == chapter.title
    assert "Alden, Raymond Macdonald" in with_all.chapters[-1].text


def test_wasteland_is_cut_at_its_toc_fragments():
    book = load_book(_shared("wasteland.epub"))
    assert book.meta.title == "The Waste Land" and book.meta.authors == ["T.S. Eliot"]
    assert [ch.title for ch in book.chapters] == [
        "I. THE BURIAL OF THE DEAD",
        "II. A GAME OF CHESS",
        "III. THE FIRE SERMON",
        "IV. DEATH BY WATER",
        "V. WHAT THE THUNDER SAID",
    ]
    assert book.chapters[0].paragraphs[0] == "April is the cruellest month, breeding"
    assert book.chapters[3].paragraphs[0] == "Phlebas the Phoenician, a fortnight dead,"
    text = "\n".join(ch.text for ch in book.chapters)
    assert "For Ezra Pound" not in text  # title page (front matter)
    assert "Not only the title" not in text  # the notes (back matter)
    assert "Hofgarten,10" not in text and "Hofgarten," in text  # line numbers and note markers dropped
    with_all = load_book(_shared("wasteland.epub"), include_all=True)
    assert with_all.chapters[-1].title == 'NOTES ON "THE WASTE LAND"'
    assert "For Ezra Pound" in with_all.chapters[0].text


def test_trees_skips_its_title_page_and_scripts():
    book = load_book(_shared("trees.epub"))
    assert [ch.title for ch in book.chapters] == ["Classification", "Morphology"]
    text = "\n".join(ch.text for ch in book.chapters)
    assert "does not support canvas" not in text and "jQuery" not in text and "function(" not in text
    assert book.chapters[0].paragraphs[0].startswith("A tree is a plant form")


@pytest.mark.skipif(not W3C_BOOKS, reason="../shared/books/w3c is not present")
@pytest.mark.parametrize("path", W3C_BOOKS, ids=lambda p: p.stem)
def test_w3c_sample_converts_or_fails_with_one_line(path: Path):
    try:
        book = load_book(path)
    except BookError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(book, Book) and book.chapters
    assert all(ch.paragraphs and ch.words > 0 for ch in book.chapters)
    assert [ch.index for ch in book.chapters] == list(range(len(book.chapters)))


def _w3c(name: str) -> Path:
    path = W3C / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return path


def test_w3c_external_entity_is_not_read():
    path = _w3c("pub-xml-external-id.epub")
    with zipfile.ZipFile(path) as zf:
        referenced = zf.read("EPUB/foo.xhtml").decode()
    assert "The test fails." in referenced
    text = "\n".join(ch.text for ch in load_book(path, include_all=True).chapters)
    assert "The test fails" not in text and "xxe" not in text
    assert "Test passes unless a failure statement follows this paragraph." in text


def test_w3c_reading_order_rules():
    order = load_book(_w3c("pkg-spine-order.epub")).chapters[0].paragraphs
    assert [p for p in order if p.startswith("This page must appear")] == [
        "This page must appear first.", "This page must appear second.",
        "This page must appear third.", "This page must appear last.",
    ]
    first_package = load_book(_w3c("ocf-package_multiple.epub"))
    assert first_package.chapters[0].paragraphs == ["Test passes if you see this."]
    fallback = load_book(_w3c("pub-foreign_xml-spine.epub"))
    assert fallback.chapters[0].paragraphs == ["Test passes if you see this text."]
    duplicates = load_book(_w3c("pkg-spine-duplicate-item-rendering.epub"))
    assert [ch.text for ch in duplicates.chapters].count("This document occurs three times in the spine.") == 3


def test_w3c_non_linear_item_is_skipped_unless_asked():
    path = _w3c("pkg-spine-nonlinear-activation.epub")
    assert "Test passes if following the link opens this page." not in load_book(path).chapters[0].text
    text = "\n".join(ch.text for ch in load_book(path, include_all=True).chapters)
    assert "Test passes if following the link opens this page." in text


def test_w3c_font_obfuscation_is_not_drm():
    book = load_book(_w3c("ocf-font_obfuscation.epub"))
    assert "This should be an unusual TrueType font." in book.chapters[0].text
