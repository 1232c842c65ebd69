"""Sentence splitting on text that trips naive splitters."""

from __future__ import annotations

import pytest

from tui.book.sentences import split_sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Dr. Smith went to St. James St. on Monday. He paid $3.50 for tea.",
         ["Dr. Smith went to St. James St. on Monday.", "He paid $3.50 for tea."]),
        ("I met J. R. R. Tolkien once. He was kind.", ["I met J. R. R. Tolkien once.", "He was kind."]),
        ("Bring fruit, e.g. Apples. Or not, i.e. Nothing at all.",
         ["Bring fruit, e.g. Apples.", "Or not, i.e. Nothing at all."]),
        ("It was 1984. Chapter XIV begins here.", ["It was 1984.", "Chapter XIV begins here."]),
        ('"Are you coming?" she asked. "No!" he said. Then he left.',
         ['"Are you coming?" she asked.', '"No!" he said.', "Then he left."]),
        ("“Stop!” Then he ran. ‘Really?’ she said.", ["“Stop!”", "Then he ran.", "‘Really?’ she said."]),
        ("He said, \"Wait...\" and then nothing.", ['He said, "Wait..." and then nothing.']),
        ("I was... I was scared. Wait… what? Yes.", ["I was...", "I was scared.", "Wait… what?", "Yes."]),
        ("See No. 5 on p. 12. Then stop.", ["See No. 5 on p. 12.", "Then stop."]),
        ("Pi is 3.14159 exactly. Or not.", ["Pi is 3.14159 exactly.", "Or not."]),
        ("The U.S.A. is big. So is Canada.", ["The U.S.A. is big.", "So is Canada."]),
        ("He moved to the U.S. The rest is history.", ["He moved to the U.S.", "The rest is history."]),
        ("Mr. and Mrs. Jones arrived at 3 p.m. today. Next.", ["Mr. and Mrs. Jones arrived at 3 p.m. today.", "Next."]),
        ("(See the map.) Then go.", ["(See the map.)", "Then go."]),
        ("No terminal punctuation", ["No terminal punctuation"]),
        ("   ", []),
    ],
)
def test_tricky_english(text, expected):
    assert split_sentences(text) == expected


def test_language_aware_rules():
    assert split_sentences("Er kam am 3. Oktober. Dann ging er.", "de") == ["Er kam am 3. Oktober.", "Dann ging er."]
    assert split_sentences("Wir sahen z.B. Bäume. Dann gingen wir.", "de-DE") == [
        "Wir sahen z.B. Bäume.", "Dann gingen wir."]
    assert split_sentences("Sr. García llegó. Luego se fue.", "es") == ["Sr. García llegó.", "Luego se fue."]
    assert split_sentences("我很好。你呢？好的！", "zh") == ["我很好。", "你呢？", "好的！"]


@pytest.mark.parametrize("max_chars", [40, 80, 250])
def test_long_sentences_are_cut_at_clause_boundaries(max_chars):
    sentence = (
        "The old man walked slowly down the road; the dog followed him at a distance, sniffing at every gate, "
        "every post and every patch of grass — and the sun, low over the hills, threw their long shadows ahead "
        "of them, across the dust, across the ditch and up the far bank where the crows were waiting."
    )
    pieces = split_sentences(sentence, max_chars=max_chars)
    assert all(len(p) <= max_chars for p in pieces)
    assert " ".join(pieces) == sentence
    if max_chars == 80:
        assert pieces[0] == "The old man walked slowly down the road;"
    assert all(p[-1] in ";,—." or p[-1].isalpha() for p in pieces)


def test_unbroken_text_is_cut_hard_and_nothing_is_lost():
    text = "x" * 1000
    pieces = split_sentences(text, max_chars=250)
    assert [len(p) for p in pieces] == [250, 250, 250, 250]
    assert "".join(pieces) == text


def test_max_chars_must_be_positive():
    with pytest.raises(ValueError):
        split_sentences("Hi.", max_chars=0)


def test_control_characters_never_reach_a_worker() -> None:
    from tui.book.sentences import split_sentences

    assert split_sentences("Hello\x00 there\x07 friend. Another\x1b[31m line.\x7f") == \
        ["Hello there friend.", "Another[31m line."]
    assert split_sentences("Tabs\tand\nnewlines stay spaces.") == ["Tabs and newlines stay spaces."]
