"""EPUB ingest on books generated here with ebooklib: structure, titles, what is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.book_helpers import (
    COPYRIGHT_TEXT,
    COVER_PNG,
    FOOTNOTE_TEXT,
    INDEX_TEXT,
    NONLINEAR_TEXT,
    SCRIPT_TEXT,
    STYLE_TEXT,
    TITLEPAGE_TEXT,
    crafted_epub,
    make_epub2,
    make_epub3,
    make_single_file_epub,
)
from tui.book.ingest import load_book


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("generated")
    return {
        "epub3": make_epub3(root / "three.epub"),
        "epub2": make_epub2(root / "two.epub"),
        "single": make_single_file_epub(root / "single.epub"),
    }


def _all_text(book) -> str:
    return "\n".join(ch.title + "\n" + ch.text for ch in book.chapters)


def test_epub3_metadata_and_cover(books):
    book = load_book(books["epub3"])
    assert book.meta.title == "Generated Three"
    assert book.meta.authors == ["Ada Example"]
    assert book.meta.language == "en"
    assert book.meta.publisher == "Test Press"
    assert book.meta.date == "2021-03-04" and book.meta.year == "2021"
    assert book.meta.description == "A book generated for tests."
    assert book.meta.cover == COVER_PNG and book.meta.cover_mime == "image/png"
    assert book.source_path == books["epub3"]


def test_epub3_chapters_follow_nav_titles_and_skip_front_and_back_matter(books):
    book = load_book(books["epub3"])
    assert [ch.title for ch in book.chapters] == [f"The Chapter Called {n}" for n in (1, 2, 3)]
    assert [ch.index for ch in book.chapters] == [0, 1, 2]
    assert [ch.number for ch in book.chapters] == [1, 2, 3]
    text = _all_text(book)
    for absent in (TITLEPAGE_TEXT, COPYRIGHT_TEXT, INDEX_TEXT, NONLINEAR_TEXT):
        assert absent not in text
    assert "Title Page" not in [ch.title for ch in book.chapters]


def test_epub3_drops_footnotes_scripts_styles_and_keeps_paragraphs(books):
    book = load_book(books["epub3"])
    text = _all_text(book)
    assert FOOTNOTE_TEXT not in text
    assert SCRIPT_TEXT not in text and "secretScriptValue" not in text
    assert STYLE_TEXT not in text and "hidden-style-marker" not in text
    first = book.chapters[0]
    # the noteref "1" after "1984." is gone; the sentence continues in the same paragraph
    assert "Dr. Smith met Mrs. Jones at St. Paul's in 1984. It cost $3.50." in first.paragraphs
    assert first.paragraphs[-1] == "Last paragraph of chapter 1."
    assert len(first.paragraphs) == 4  # heading, two prose paragraphs, last paragraph
    assert first.words == sum(len(p.split()) for p in first.paragraphs)


def test_include_all_keeps_front_matter_and_nonlinear_items(books):
    book = load_book(books["epub3"], include_all=True)
    text = _all_text(book)
    for present in (TITLEPAGE_TEXT, COPYRIGHT_TEXT, INDEX_TEXT, NONLINEAR_TEXT):
        assert present in text
    assert FOOTNOTE_TEXT not in text  # pop-up notes are never read in the flow
    titles = [ch.title for ch in book.chapters]
    assert titles.index("The Chapter Called 1") < titles.index("Answers") < titles.index("Index")


def test_epub2_ncx_titles_guide_skip_and_heading_fallback(books):
    book = load_book(books["epub2"])
    assert [ch.title for ch in book.chapters] == [
        "Chapter One: Arrival",
        "An Unlisted Interlude",  # not in the NCX: its first heading names it
        "Chapter Two: Departure",
    ]
    one = book.chapters[0]
    # the unlisted file without a heading continues the chapter before it
    assert one.paragraphs[-1] == "The arrival chapter continues in a second file."
    assert "They arrived at night. The town slept." in one.paragraphs  # <a><sup>1</sup></a> dropped
    assert "They left at dawn." in book.chapters[2].paragraphs  # <sup><a>[2]</a></sup> dropped
    assert "Contents" not in [ch.title for ch in book.chapters]  # guide type="toc"
    with_all = load_book(books["epub2"], include_all=True)
    assert with_all.chapters[0].title == "Contents"


def test_single_file_is_cut_at_toc_fragments(books):
    book = load_book(books["single"])
    assert [ch.title for ch in book.chapters] == ["Part 1 from the TOC", "Part 2 from the TOC", "Part 3 from the TOC"]
    # the heading "Part N" is part of the TOC title, so it is spoken once (as the title)
    assert [ch.paragraphs for ch in book.chapters] == [[f"Text of part {n}. It is short."] for n in (1, 2, 3)]
    assert book.chapters[1].source.endswith("all.xhtml#part2")


def test_heading_that_repeats_the_title_is_not_repeated(tmp_path):
    path = crafted_epub(tmp_path / "h.epub", body="<h1>Crafted Chapter</h1><p>Body text here.</p>")
    book = load_book(path)
    assert book.chapters[0].title == "Crafted Chapter"  # no TOC: the heading names the chapter
    assert book.chapters[0].paragraphs == ["Body text here."]


def test_entities_from_the_xhtml_dtd_keep_their_characters(tmp_path):
    path = crafted_epub(tmp_path / "e.epub", body="<p>Wait&mdash;what?&nbsp;Yes &amp; no&hellip;</p>")
    assert load_book(path).chapters[0].paragraphs == ["Wait—what? Yes & no…"]


def test_page_numbers_and_hidden_text_are_not_read(tmp_path):
    body = (
        '<p>One line<span class="pagenum">[Pg 12]</span> continues<span epub:type="pagebreak">13</span> here.</p>'
        '<p hidden="hidden">Hidden paragraph.</p><p style="display: none">Invisible.</p>'
        "<p>Visible.<br/>Next line.</p>"
    )
    book = load_book(crafted_epub(tmp_path / "p.epub", body=body))
    assert book.chapters[0].paragraphs == ["One line continues here.", "Visible.", "Next line."]
