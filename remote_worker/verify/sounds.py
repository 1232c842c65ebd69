"""A rough English sound key: the consonant skeleton of a word, spelled the way it sounds.

The recogniser writes rare words as it hears them ("xylem" as "xalom", "phloem"
as "flom", "Barrie" as "Barry"); such a word was spoken, only spelled otherwise.
Words with the same key are taken as the same word; a dropped or babbled word
almost never shares the skeleton of the word it replaced.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["sound_key"]

_RULES = [
    (re.compile(r"^(?:kn|gn|pn)"), "n"), (re.compile(r"^wr"), "r"), (re.compile(r"^x"), "s"),
    (re.compile(r"^wh"), "w"), (re.compile(r"^ps"), "s"), (re.compile(r"ph"), "f"), (re.compile(r"sch"), "sk"),
    (re.compile(r"tch"), "ch"), (re.compile(r"ck"), "k"), (re.compile(r"c(?=[eiy])"), "s"), (re.compile(r"c"), "k"),
    (re.compile(r"q"), "k"), (re.compile(r"x"), "ks"), (re.compile(r"z"), "s"), (re.compile(r"dg(?=[eiy])"), "j"),
    (re.compile(r"gh(?![aeiouy])"), ""), (re.compile(r"(?<=[aeiouy])[wh](?![aeiouy])"), ""),
    (re.compile(r"(?<=.)[aeiouy]+"), ""), (re.compile(r"^[aeiouy]+"), "a"), (re.compile(r"(.)\1+"), r"\1"),
]


@lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """The sound skeleton of a lower-case word (``"phloem"`` → ``"flm"``); digits and other scripts pass through."""
    key = word.lower()
    for pattern, replacement in _RULES:
        key = pattern.sub(replacement, key)
    return key
