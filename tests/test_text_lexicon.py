"""The user's TOML lexicon."""

from __future__ import annotations

import pytest

from tui.book.lexicon import load_lexicon
from tui.book.model import BookError

GOOD = r"""
[words]
Hermione = "Her-my-oh-nee"
"Dr." = "Doctor"
C3PO = "See-Threepio"

[regex]
'(\d+) ?mph' = '\1 miles per hour'
'\bSt\.(?= [A-Z])' = "Saint"
"""


def _write(tmp_path, text, name="lexicon.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_words_and_patterns(tmp_path):
    lex = load_lexicon(_write(tmp_path, GOOD))
    assert len(lex) == 5
    assert lex.apply("Dr. Granger, Hermione and C3PO drove 30 mph to St. Paul.") == (
        "Doctor Granger, Her-my-oh-nee and See-Threepio drove 30 miles per hour to Saint Paul."
    )
    # whole words only, case-sensitive by default
    assert lex.apply("Hermiones hermione C3POs") == "Hermiones hermione C3POs"


def test_ignore_case(tmp_path):
    lex = load_lexicon(_write(tmp_path, 'ignore_case = true\n[words]\nnasa = "nassa"\n'))
    assert lex.apply("NASA and Nasa") == "nassa and nassa"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[words\nx = 1", "not valid TOML"),
        ('[words]\nfoo = 3\n', "[words] entry 'foo' must map to a string"),
        ("[regex]\n'(unclosed' = \"x\"\n", "[regex] entry '(unclosed' is not valid"),
        ("[regex]\n'a' = '\\9'\n", "[regex] entry 'a' is not valid"),
        ("[regex]\n'x*' = 'y'\n", "[regex] entry 'x*' matches empty text"),
        ('[sounds]\na = "b"\n', "unknown entry 'sounds'"),
        ('ignore_case = "yes"\n', "ignore_case must be true or false"),
    ],
)
def test_bad_lexicon_names_file_and_entry(tmp_path, text, fragment):
    path = _write(tmp_path, text, "bad.toml")
    with pytest.raises(BookError) as info:
        load_lexicon(path)
    message = str(info.value)
    assert str(path) in message and fragment in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(BookError, match="no such file"):
        load_lexicon(tmp_path / "absent.toml")
