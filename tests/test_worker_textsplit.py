"""The worker's long-sentence splitter (pure; runs without any engine extra)."""

from __future__ import annotations

import random
import re

import pytest

from remote_worker.textsplit import split_for_engine

LONG = (
    "When the storm had passed and the harbour lay quiet again, the fishermen came down to the water "
    "to count their boats, to mend the nets that the wind had torn, and to look for the small skiff "
    "that old Tobias had taken out before dawn; nobody had seen it since the first gust, and his "
    "daughter stood on the pier with a lantern, although the sun was already up, calling his name "
    "across the grey water — once, twice, and then again, more quietly each time — until at last a "
    "boy on the breakwater shouted that he could see a sail, very small and very far out, tacking "
    "slowly home against what was left of the wind, and the whole village, who had pretended all "
    "morning not to be waiting, ran down to the sand to meet it."
)


def _words(text: str) -> list[str]:
    return text.split()


def test_short_text_is_one_piece_and_blank_is_none():
    assert split_for_engine("  Hello   there.  ", 250) == ["Hello there."]
    assert split_for_engine("   ", 250) == []
    assert split_for_engine("", 10) == []


def test_long_sentence_is_cut_within_the_limit_and_nothing_is_lost():
    assert len(LONG) > 600
    pieces = split_for_engine(LONG, 250)
    assert len(pieces) >= 3
    assert all(0 < len(p) <= 250 for p in pieces)
    assert _words(" ".join(pieces)) == _words(LONG)  # every word, in order


def test_cuts_prefer_clause_marks_over_plain_spaces():
    pieces = split_for_engine(LONG, 250)
    for piece in pieces[:-1]:
        assert re.search(r"[;,—]$", piece), piece  # each piece but the last ends at a clause mark


def test_sentence_ends_win_over_commas():
    text = "One, two, three, four. Five, six, seven, eight, nine, ten, eleven, twelve."
    assert split_for_engine(text, 40)[0] == "One, two, three, four."


def test_words_are_split_only_when_there_is_no_space_at_all():
    text = "a" * 30 + " " + "b" * 30
    assert split_for_engine(text, 40) == ["a" * 30, "b" * 30]
    assert split_for_engine("x" * 95, 40) == ["x" * 40, "x" * 40, "x" * 15]


def test_random_text_never_exceeds_the_limit_or_drops_a_character():
    rng = random.Random(7)
    alphabet = "abcdefgh ,;:.—!?"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 700)))
        limit = rng.randint(1, 120)
        pieces = split_for_engine(text, limit)
        assert all(0 < len(p) <= limit for p in pieces)
        assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_limit_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        split_for_engine("text", 0)
