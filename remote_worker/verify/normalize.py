"""Text → comparable words, applied alike to what was meant and what was heard.

The recogniser writes "Mr.", "1984", "color" and "it's" where the book has
"Mister", "nineteen eighty-four", "colour" and "it’s". Both sides are brought to
lower-case words without punctuation, numbers written out, abbreviations
expanded, and the lexicon's written forms replaced by their spoken forms, so
only real differences in the speech remain. :func:`same_word` then forgives
spelling variants that the normalisation cannot know.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Mapping, Optional

from .language import base_language
from .numbers import spell_numbers
from .sounds import sound_key

__all__ = ["TextNormalizer", "joined_same", "normalize_words", "same_word"]

#: tokens read out as a word; keys are lower-case without the dot
_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "st": "saint", "prof": "professor",
    "capt": "captain", "col": "colonel", "gen": "general", "lt": "lieutenant", "sgt": "sergeant",
    "jr": "junior", "sr": "senior", "vs": "versus", "etc": "etcetera", "ok": "okay", "mt": "mount",
    "rev": "reverend", "hon": "honourable", "messrs": "messieurs", "esq": "esquire", "o": "oh",
}
#: words that sound alike in these texts and that the recogniser writes either way
_EQUIVALENT = [
    {"saint", "street"}, {"missus", "misses", "mistress", "mrs"}, {"oh", "o", "zero", "owe"},
    {"okay", "ok"}, {"alright", "allright"}, {"ah", "aah", "ahh", "ha", "hah", "huh", "uh", "er", "eh"},
    {"oh", "ooh", "ow", "o"}, {"hm", "hmm", "mm", "mmm", "um", "umm", "mhm"}, {"yeah", "yea", "yes"},
    {"no", "know", "now"}, {"two", "to", "too"}, {"four", "for"}, {"one", "won"}, {"eight", "ate"},
    {"there", "their"}, {"wright", "right", "write"},
]
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "million billion trillion oh".split()
)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_DASHES = re.compile(r"[\u2010-\u2015\u2212-]+")
_NOT_WORD = re.compile(r"[^\w']+")
_EDGE_APOSTROPHES = re.compile(r"(^'+|'+$)")


def _groups_of() -> dict[str, frozenset[int]]:
    found: dict[str, set[int]] = {}
    for index, group in enumerate(_EQUIVALENT):
        for word in group:
            found.setdefault(word, set()).add(index)
    return {word: frozenset(indices) for word, indices in found.items()}


_GROUPS_OF = _groups_of()


class TextNormalizer:
    """Words of a text in comparable form; one instance per language and lexicon (compiled once)."""

    def __init__(self, language: str = "en", spoken_forms: Optional[Mapping[str, str]] = None) -> None:
        self.language = base_language(language)
        self._spoken = {k.lower(): v for k, v in (spoken_forms or {}).items() if k.strip()}
        self._spoken_re: Optional[re.Pattern[str]] = None
        if self._spoken:
            alternatives = []
            for key in sorted(self._spoken, key=len, reverse=True):
                left = r"(?<!\w)" if re.match(r"\w", key) else ""
                right = r"(?!\w)" if re.search(r"\w$", key) else ""
                alternatives.append(f"{left}{re.escape(key)}{right}")
            self._spoken_re = re.compile("|".join(alternatives), re.IGNORECASE)

    def words(self, text: str) -> list[str]:
        """Lower-case words of ``text`` with numbers, abbreviations and lexicon entries spoken."""
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
        if self._spoken_re is not None:
            text = self._spoken_re.sub(lambda m: " " + self._spoken[m.group(0).lower()] + " ", text)
        text = spell_numbers(text, self.language)
        text = _DASHES.sub(" ", text).lower()
        out: list[str] = []
        for raw in _NOT_WORD.split(text):
            word = _EDGE_APOSTROPHES.sub("", raw).replace("'", "").replace("_", "")
            if not word:
                continue
            if self.language == "en":
                word = _ABBREVIATIONS.get(word, word)
            out.append(word)
        return _drop_number_and(out)


def _drop_number_and(words: list[str]) -> list[str]:
    """"one hundred and five" and "one hundred five" are the same number: drop the inner "and"."""
    if "and" not in words:
        return words
    kept = []
    for i, word in enumerate(words):
        if (word == "and" and 0 < i < len(words) - 1 and words[i - 1] in ("hundred", "thousand", "million", "billion")
                and words[i + 1] in _NUMBER_WORDS):
            continue
        kept.append(word)
    return kept


@lru_cache(maxsize=16)
def _plain_normalizer(language: str) -> TextNormalizer:
    return TextNormalizer(language)


def normalize_words(text: str, language: str = "en", spoken_forms: Optional[Mapping[str, str]] = None) -> list[str]:
    """Comparable words of ``text``; see :class:`TextNormalizer` (which compiles ``spoken_forms`` once)."""
    if spoken_forms:
        return TextNormalizer(language, spoken_forms).words(text)
    return _plain_normalizer(language).words(text)


@lru_cache(maxsize=65536)
def same_word(a: str, b: str) -> bool:
    """True when two normalised words are the same word as far as speech can tell.

    Equal words, sound-alike pairs from a short list (interjections among them),
    spelling variants ("colour"/"color", "grey"/"gray") and, for words of four
    letters or more, the same sound skeleton (a rare word spelled as heard).
    """
    if a == b:
        return True
    groups = _GROUPS_OF.get(a)
    if groups and groups & _GROUPS_OF.get(b, frozenset()):
        return True
    if min(len(a), len(b)) < 4:
        return False
    if SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.75:
        return True
    return _sound_alike(a, b)


def _sound_alike(a: str, b: str) -> bool:
    key_a, key_b = sound_key(a), sound_key(b)
    if key_a == key_b:
        return len(key_a) >= 2
    if min(len(key_a), len(key_b)) < 4:
        return False
    return SequenceMatcher(None, key_a, key_b, autojunk=False).ratio() >= 0.8


def joined_same(parts: tuple[str, ...], whole: str) -> bool:
    """True when several words written together are ``whole`` ("to day" / "today", "will not" / "Woolnoth")."""
    joined = "".join(parts)
    if joined == whole:
        return True
    # about as long as the whole: "suffering" + "im" is not "suffering", however alike the letters
    if min(len(joined), len(whole)) < 5 or abs(len(joined) - len(whole)) > max(1, len(whole) // 6):
        return False
    return SequenceMatcher(None, joined, whole, autojunk=False).ratio() >= 0.85 or _sound_alike(joined, whole)
