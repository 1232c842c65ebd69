"""--chapters, --list-chapters and the book fingerprint."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.book_helpers import SHARED_BOOKS, make_epub3
from tui.book.fingerprint import book_fingerprint
from tui.book.ingest import load_book
from tui.book.listing import format_chapter_list
from tui.book.model import BookError
from tui.book.selection import ChapterSelectionError, parse_chapter_selection, select_chapters


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("3-10,12", [2, 3, 4, 5, 6, 7, 8, 9, 11]),
        ("1", [0]),
        (" 2 , 2-3 ", [1, 2]),
        ("12,1", [0, 11]),
        ("10-", [9, 10, 11, 12]),
        ("-2", [0, 1]),
    ],
)
def test_parse_selection(spec, expected):
    assert parse_chapter_selection(spec, 13) == expected


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("0", "chapter 0 is out of range: the book has chapters 1-13"),
        ("14", "chapter 14 is out of range"),
        ("5-3", "runs backwards"),
        ("a-b", "bad chapter selection 'a-b'"),
        ("1,,2", "bad chapter selection"),
        ("", "empty chapter selection"),
        ("-", "bad chapter selection"),
    ],
)
def test_bad_selection(spec, fragment):
    with pytest.raises(ChapterSelectionError) as info:
        parse_chapter_selection(spec, 13)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, BookError) and isinstance(info.value, ValueError)


def test_select_chapters_renumbers(tmp_path):
    book = load_book(make_epub3(tmp_path / "b.epub"))
    chosen = select_chapters(book, parse_chapter_selection("1,3", len(book.chapters)))
    assert [ch.title for ch in chosen.chapters] == ["The Chapter Called 1", "The Chapter Called 3"]
    assert [ch.index for ch in chosen.chapters] == [0, 1]
    assert [ch.index for ch in book.chapters] == [0, 1, 2]  # the original is untouched
    assert chosen.meta is book.meta


def test_chapter_list(tmp_path):
    book = load_book(make_epub3(tmp_path / "b.epub"))
    listing = format_chapter_list(book)
    lines = listing.splitlines()
    assert lines[0] == "Generated Three — Ada Example"
    assert lines[1].split() == ["#", "Title", "Words"]
    assert lines[2].split() == ["1", "The", "Chapter", "Called", "1", str(book.chapters[0].words)]
    assert lines[-1].split() == ["Total", "(3", "chapters)", str(sum(ch.words for ch in book.chapters))]
    assert len({len(line) for line in lines[1:]}) == 1  # aligned columns


def test_chapter_list_of_a_shared_book():
    path = SHARED_BOOKS / "wasteland.epub"
    if not path.is_file():
        pytest.skip("shared books absent")
    lines = format_chapter_list(load_book(path)).splitlines()
    assert lines[2].split()[:2] == ["1", "I."] and lines[6].split()[:2] == ["5", "V."]


def test_fingerprint(tmp_path):
    path = make_epub3(tmp_path / "b.epub")
    assert book_fingerprint(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert book_fingerprint(str(path)) == book_fingerprint(path)
    with pytest.raises(BookError):
        book_fingerprint(tmp_path / "absent.epub")
