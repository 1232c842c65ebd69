"""Expected against heard words, with the words that differ marked, for a listener to read at a glance.

The comparison is on the surface (case and punctuation aside): it shows where
to listen, not the verifier's verdict, which also spells out numbers and
accepts words that sound alike.
"""

from __future__ import annotations

import difflib
import re

from rich.text import Text

__all__ = ["word_diff", "MISSING_STYLE", "EXTRA_STYLE"]

#: an expected word that was not heard (or heard as something else)
MISSING_STYLE = "bold reverse red"
#: a heard word that was not expected
EXTRA_STYLE = "bold reverse yellow"

_EDGE = re.compile(r"^\W+|\W+$")


def _key(word: str) -> str:
    """What two words are compared by: their letters and digits, in any case."""
    return _EDGE.sub("", word).casefold()


def _marked(words: list[str], differs: list[bool], style: str) -> Text:
    text = Text()
    for i, (word, bad) in enumerate(zip(words, differs, strict=True)):
        if i:
            text.append(" ")
        text.append(word, style=style if bad else "")
    return text


def word_diff(expected: str, heard: str) -> tuple[Text, Text]:
    """(expected, heard) as texts in which every word the other lacks is highlighted."""
    want, got = expected.split(), heard.split()
    matcher = difflib.SequenceMatcher(a=[_key(w) for w in want], b=[_key(w) for w in got], autojunk=False)
    missing, extra = [True] * len(want), [True] * len(got)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            missing[block.a + k] = False
            extra[block.b + k] = False
    heard_text = _marked(got, extra, EXTRA_STYLE) if got else Text("(nothing heard)", style="dim italic")
    return _marked(want, missing, MISSING_STYLE), heard_text
