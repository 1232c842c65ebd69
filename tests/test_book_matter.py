"""Front and back matter by title and position: one list for every format, no calibre needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.book_helpers import (
    SE_CHAPTERS,
    SE_COLOPHON_TEXT,
    SE_ENDNOTE_TEXT,
    SE_IMPRINT_TEXT,
    SE_UNCOPYRIGHT_TEXT,
    make_standard_ebooks_epub,
)
from tui.book.ingest import load_book
from tui.book.matter import MATTER_TITLES, Where, drop_unmarked_matter, title_matter
from tui.book.model import Book, BookMeta, Chapter
from tui.book.semantics import SKIPPED_MATTER

BOOK_DIR = Path(__file__).resolve().parents[1] / "tui" / "book"


def _skipped(title: str, position: str) -> bool:
    entry = title_matter(title, position=position)
    return entry is not None and not entry.read


@pytest.mark.parametrize(
    "title",
    ["Uncopyright", "UNCOPYRIGHT", "Colophon", "Imprint", "Copyright", "Copyright Notice", "Endnotes", "End Notes",
     "Notes", "Notes on the Text", "Index", "Bibliography", "Glossary", "Credits", "Image Credits",
     "The Full Project Gutenberg License", "Licence", "Also by Ada Example", "Other Books by Ada Example"],
)
def test_back_matter_titles_are_skipped_at_the_end(title):
    assert _skipped(title, "back")


@pytest.mark.parametrize(
    "title",
    ["Titlepage", "Title Page", "Half Title", "Imprint", "Table of Contents", "Contents", "Copyright", "Cover",
     "Frontispiece", "List of Illustrations", "By the Same Author"],
)
def test_front_matter_titles_are_skipped_at_the_start(title):
    assert _skipped(title, "front")


@pytest.mark.parametrize(
    "title",
    ["The Imprint of a Hand", "Imprint", "Cover", "Credits", "Pages", "Notes", "Notes from the Harbour",
     "Frontispiece", "Copyright Infringement", "A Colophon for Mr. Brown", "Chapter 7", "About the Author"],
)
def test_story_titles_in_the_middle_are_read(title):
    assert not _skipped(title, "middle")


@pytest.mark.parametrize(
    "title",
    ["About the Author", "About the Authors", "Acknowledgements", "Acknowledgments", "Dedication", "Epigraph",
     "Preface", "Foreword", "Introduction", "Afterword", "Epilogue", "Appendix", "Notes from Underground",
     "The Imprint of a Hand", "Uncopyrighted Love"],
)
def test_what_a_listener_expects_is_read_at_either_end(title):
    assert not _skipped(title, "front") and not _skipped(title, "back")


def test_every_skipped_title_stands_for_a_type_the_epub_reader_skips():
    """So a page is left out of every format alike: by its mark in an EPUB, by its title elsewhere."""
    for entry in MATTER_TITLES:
        re.compile(entry.pattern)
        if entry.read:
            assert entry.kind not in SKIPPED_MATTER and entry.where is Where.BACK, entry
        else:
            assert entry.kind in SKIPPED_MATTER, entry


def test_matter_titles_are_listed_in_one_place():
    """No reader keeps a title list of its own: matter titles are named only in matter.py (and, as EPUB
    types, in semantics.py)."""
    names = re.compile(r"colophon|uncopyright|imprint|glossary|bibliography", re.IGNORECASE)
    homes = {p.name for p in BOOK_DIR.glob("*.py") if names.search(p.read_text(encoding="utf-8"))}
    assert homes == {"matter.py", "semantics.py"}, homes


def _book(titles_and_words: list[tuple[str, int]], title: str = "The Harbour Lamps") -> Book:
    chapters = [Chapter(i, t, [" ".join(["word"] * n)]) for i, (t, n) in enumerate(titles_and_words)]
    return Book(meta=BookMeta(title=title), chapters=chapters)


@pytest.mark.parametrize(
    "chapters, kept",
    [
        # Standard Ebooks' order, as calibre's formats give it
        ([("Titlepage", 6), ("Imprint", 64), ("I: The Quay", 900), ("II: The Imprint of a Hand", 900),
          ("III: The Harbour Light", 900), ("Endnotes", 10), ("Colophon", 48), ("Uncopyright", 53)],
         ["I: The Quay", "II: The Imprint of a Hand", "III: The Harbour Light"]),
        # names a story may use are read between chapters, skipped at either end
        ([("Cover", 5), ("One", 900), ("Imprint", 900), ("Cover", 900), ("Two", 900), ("Credits", 40)],
         ["One", "Imprint", "Cover", "Two"]),
        # notes are still the book's last pages when About the Author or acknowledgements follow them
        ([("One", 900), ("Two", 900), ("Notes", 300), ("Acknowledgements", 80), ("About the Author", 90)],
         ["One", "Two", "Acknowledgements", "About the Author"]),
        ([("One", 900), ("About the Author", 90), ("Two", 900), ("Notes", 300)], ["One", "About the Author", "Two"]),
        ([("Uncopyright", 50), ("Colophon", 40)], ["Uncopyright", "Colophon"]),  # never leaves a book empty
    ],
)
def test_matter_by_title_and_position(chapters, kept):
    book = _book(chapters)
    drop_unmarked_matter(book)
    assert [ch.title for ch in book.chapters] == kept


def test_an_epub_that_marks_no_matter_is_read_like_one_that_does(tmp_path):
    """A Standard Ebooks book stripped of its landmarks and epub:types (as some converters write it) gives
    the same chapters: its imprint, endnotes, colophon and Uncopyright are found by title."""
    marked = load_book(make_standard_ebooks_epub(tmp_path / "marked.epub"))
    unmarked = load_book(make_standard_ebooks_epub(tmp_path / "unmarked.epub", marked=False))
    assert [ch.title for ch in marked.chapters] == [ch.title for ch in unmarked.chapters] == list(SE_CHAPTERS)
    assert [ch.words for ch in marked.chapters] == [ch.words for ch in unmarked.chapters]
    text = "\n".join(ch.text for ch in unmarked.chapters)
    for matter in (SE_IMPRINT_TEXT, SE_COLOPHON_TEXT, SE_UNCOPYRIGHT_TEXT, SE_ENDNOTE_TEXT):
        assert matter not in text
    everything = load_book(tmp_path / "unmarked.epub", include_all=True)
    assert [ch.title for ch in everything.chapters] == [
        "Titlepage", "Imprint", *SE_CHAPTERS, "Endnotes", "Colophon", "Uncopyright"]
