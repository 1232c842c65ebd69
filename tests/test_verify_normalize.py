"""Both sides of the comparison are brought to the same words (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from remote_worker.verify.normalize import (
    TextNormalizer,
    joined_same,
    normalize_words,
    same_word,
)
from remote_worker.verify.numbers import spell_numbers
from remote_worker.verify.resample import resample


@pytest.mark.parametrize(
    "written, spoken",
    [
        ("In 1984 he was 21.", "In nineteen eighty-four he was twenty-one."),
        ("On the 3rd of May", "on the third of may"),
        ("At 3:30 there were 1,000 men", "at three thirty there were one thousand men"),
        ("121 horses", "one hundred and twenty-one horses"),
        ("121 horses", "one hundred twenty-one horses"),
        ("It rose 15%", "it rose fifteen percent"),
        ("It cost $3.50", "it cost three dollars fifty cents"),
        ("Mr. Smith met Dr. Jones in St. Albans.", "Mister Smith met Doctor Jones in Saint Albans"),
        ("It’s Bob's rock-and-roll—don't you see?", "its bobs rock and roll dont you see"),
        ("“Well,” said Mrs. Brown; “OK.”", "well said missus brown okay"),
    ],
)
def test_written_and_spoken_forms_give_the_same_words(written: str, spoken: str) -> None:
    assert normalize_words(written) == normalize_words(spoken)


def test_words_are_lower_case_without_punctuation() -> None:
    assert normalize_words("Yes!") == ["yes"]
    assert normalize_words("Huh?!") == ["huh"]
    assert normalize_words("— … —") == []
    assert normalize_words("twenty-first") == ["twenty", "first"]


def test_lexicon_spoken_forms_apply_to_both_sides() -> None:
    forms = {"Hermione": "Her-my-oh-nee", "C3PO": "see three pee oh"}
    normalizer = TextNormalizer("en", forms)
    assert normalizer.words("Hermione waved at C3PO.") == normalizer.words("Her my oh nee waved at see three pee oh")
    assert normalize_words("hermione", spoken_forms=forms) == ["her", "my", "oh", "nee"]


def test_numbers_are_spelled_in_the_text_language() -> None:
    assert spell_numbers("21", "de") == "einundzwanzig"
    assert spell_numbers("no digits here") == "no digits here"


def test_spelling_variants_and_sound_alikes_count_as_the_same_word() -> None:
    assert same_word("colour", "color") and same_word("grey", "gray") and same_word("harbour", "harbor")
    assert same_word("huh", "ah") and same_word("two", "to")
    assert not same_word("cat", "bat") and not same_word("river", "kitchen")
    assert joined_same(("to", "day"), "today") and joined_same(("good", "bye"), "goodbye")
    assert not joined_same(("in", "to"), "onto")


def test_resampling_keeps_duration_and_pitch() -> None:
    rate = 22050
    t = np.arange(rate * 2) / rate
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = resample(tone, rate, 16000)
    assert out.dtype == np.float32 and out.size == 32000
    expected = np.sin(2 * np.pi * 440 * np.arange(out.size) / 16000)
    assert np.abs(out[500:-500] - expected[500:-500]).max() < 1e-3
    assert resample(tone, 16000, 16000) is not None and resample(np.zeros(0), rate).size == 0
