"""Work units: whole sentences, inside one chapter, every sentence exactly once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.book_helpers import SHARED_BOOKS, make_epub2, make_epub3, make_prose_epub, make_single_file_epub
from tui.book.ingest import load_book
from tui.book.lexicon import load_lexicon
from tui.book.normalize import normalize_text
from tui.book.sentences import split_sentences
from tui.book.units import CHARS_PER_SECOND, make_units, units_target_for


@pytest.fixture(scope="module")
def test_books(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("unitbooks")
    books = [make_epub3(root / "three.epub"), make_epub2(root / "two.epub"), make_single_file_epub(root / "single.epub")]
    books += [SHARED_BOOKS / n for n in ("childrens-literature.epub", "wasteland.epub", "trees.epub")
              if (SHARED_BOOKS / n).is_file()]
    return books


@pytest.mark.parametrize("target", [200, 1500])
@pytest.mark.parametrize("max_chars", [120, 400])
def test_units_give_back_every_sentence_exactly_once(test_books, target, max_chars):
    for path in test_books:
        book = load_book(path)
        units = make_units(book, engine_key="piper", max_sentence_chars=max_chars, target_chars=target)
        lang = book.meta.language
        for chapter in book.chapters:
            mine = [u for u in units if u.chapter_index == chapter.index]
            assert mine, f"{path.name}: chapter {chapter.number} has no units"
            assert [u.index for u in mine] == list(range(len(mine)))
            spoken = [s for u in mine for s in u.sentences]
            title = split_sentences(normalize_text(chapter.title, lang), lang, max_chars)
            body = [s for p in chapter.paragraphs for s in split_sentences(normalize_text(p, lang), lang, max_chars)]
            assert spoken[len(title):] == body, f"{path.name}: chapter {chapter.number}"
            assert [s.rstrip(".") for s in spoken[: len(title)]] == [s.rstrip(".") for s in title]
            # nothing lost or doubled against the chapter text itself
            squash = lambda s: re.sub(r"\W", "", s)  # noqa: E731
            assert squash("".join(body)) == squash("".join(normalize_text(p, lang) for p in chapter.paragraphs))
            assert sum(len(u.paragraph_starts) for u in mine) == (1 if title else 0) + len(chapter.paragraphs)
            for u in mine:
                assert all(len(s) <= max_chars for s in u.sentences)
                assert u.chars == sum(len(s) for s in u.sentences) + len(u.sentences) - 1
                assert u.est_seconds == pytest.approx(u.chars / CHARS_PER_SECOND, abs=0.01)
                if len(u.sentences) > 1:
                    assert u.chars <= target or u.chars - len(u.sentences[-1]) - 1 <= target * 1.25


def test_units_are_sized_to_the_target(tmp_path):
    paragraphs = [" ".join(f"This is sentence {i} of paragraph {p}." for i in range(12)) for p in range(40)]
    book = load_book(make_prose_epub(tmp_path / "p.epub", [paragraphs[:30], paragraphs[30:]]))
    units = make_units(book, engine_key="piper", target_chars=1000)
    assert {u.chapter_index for u in units} == {0, 1}
    assert all(u.chars <= 1000 * 1.25 for u in units)
    body = [u for u in units if u is not units[-1]]
    assert sum(u.chars for u in body) / len(body) > 600
    assert units[0].sentences[0] == "Chapter one."  # the title opens the chapter
    assert units[0].paragraph_starts[:2] == (0, 1)
    assert [u.id for u in units[:2]] == ["c0000-u0000", "c0000-u0001"]


def test_ids_stable_and_hash_covers_text_and_engine(tmp_path):
    path = make_prose_epub(tmp_path / "h.epub", [["One. Two. Three."], ["Four. Five."]])
    book = load_book(path)
    a = make_units(book, engine_key="piper:joe")
    b = make_units(load_book(path), engine_key="piper:joe")
    c = make_units(book, engine_key="piper:amy")
    assert [(u.id, u.content_hash) for u in a] == [(u.id, u.content_hash) for u in b]
    assert [u.id for u in a] == [u.id for u in c]
    assert all(x.content_hash != y.content_hash for x, y in zip(a, c))
    changed = make_prose_epub(tmp_path / "h2.epub", [["One. Two. Three!"], ["Four. Five."]])
    d = make_units(load_book(changed), engine_key="piper:joe")
    assert d[0].content_hash != a[0].content_hash and d[1].content_hash == a[1].content_hash


def test_lexicon_is_applied_before_normalising(tmp_path):
    lexicon_path = tmp_path / "lex.toml"
    lexicon_path.write_text('[words]\nC3PO = "See-Threepio"\n"1984" = "the year of the book"\n')
    book = load_book(make_prose_epub(tmp_path / "l.epub", [["C3PO read 1984 in 1985."]]))
    units = make_units(book, engine_key="piper", lexicon=load_lexicon(lexicon_path))
    assert units[0].sentences[1] == "See-Threepio read the year of the book in nineteen eighty-five."


def test_units_target_for():
    assert units_target_for(10_000_000, 2) == 1500
    assert units_target_for(96_000, 2) == 1500
    assert units_target_for(96_000, 8) == 375
    assert units_target_for(48_000, 8, per_worker=8) == 750
    assert units_target_for(2_000, 4) == 200
    assert units_target_for(0, 0) == 200
    assert units_target_for(200_000, 4, base=900, min_chars=300) == 900
