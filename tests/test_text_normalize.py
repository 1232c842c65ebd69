"""Numbers and symbols spelled out with num2words."""

from __future__ import annotations

import pytest

from tui.book.normalize import normalize_text, roman_to_int


@pytest.mark.parametrize(
    "text, expected",
    [
        ("It cost $3.50.", "It cost three dollars and fifty cents."),
        ("A $1 coin and £2.01.", "A one dollar coin and two pounds and one penny."),
        ("$2.5 million", "two point five million dollars"),
        ("In 1984 it rained.", "In nineteen eighty-four it rained."),
        ("In 2005 and 1066.", "In two thousand and five and ten sixty-six."),
        ("The 1920s were loud.", "The nineteen twenties were loud."),
        ("He came 21st, she 2nd.", "He came twenty-first, she second."),
        ("50% of 1,234,567 people", "fifty percent of one million two hundred and thirty-four thousand five hundred and sixty-seven people"),
        ("Pi is 3.14.", "Pi is three point one four."),
        ("We met at 3:30, left at 10:00 and 4:05.", "We met at three thirty, left at ten o'clock and four oh five."),
        ("Chapter XIV", "Chapter fourteen"),
        ("CHAPTER iv. The end", "CHAPTER four. The end"),
        ("Book II, Part I", "Book two, Part one"),
        ("IV. DEATH BY WATER", "Four. DEATH BY WATER"),
        ("C. S. Lewis wrote it.", "C. S. Lewis wrote it."),
        ("I went home.", "I went home."),
        ("Salt & pepper", "Salt and pepper"),
        ("He has 3 cats.", "He has three cats."),
        ("Version 3.4.5 at 192.168.1.1", "Version 3.4.5 at 192.168.1.1"),
        ("soft\u00adhyphen and  spaces", "softhyphen and spaces"),
    ],
)
def test_english(text, expected):
    assert normalize_text(text) == expected


def test_other_languages():
    assert normalize_text("Es kostet 3,50 € im Jahr 1984, 50 %.", "de") == (
        "Es kostet drei Euro und fünfzig Cent im Jahr neunzehnhundertvierundachtzig, fünfzig Prozent."
    )
    assert normalize_text("Le 1er mai, Chapitre XII, 3 chats.", "fr-FR") == (
        "Le premier mai, Chapitre douze, trois chats."
    )
    assert normalize_text("Hello 42", "xx") == "Hello 42"  # no num2words support: digits stay


def test_roman_numerals():
    assert [roman_to_int(r) for r in ("I", "IV", "XIV", "MCMLXXXIV", "IIII", "IC", "")] == [
        1, 4, 14, 1984, None, None, None]
