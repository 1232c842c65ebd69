"""Heard as written by sound: compare what was meant and what was heard as phonemes.

The recogniser writes English words. A line of verse in made-up or borrowed
words ("Weialala leia", "Shantih shantih shantih", "Co co rico") is spoken as
written and still heard as other words ("Way a la la, lay a"); word by word it
fails, though every sound is there. espeak-ng (shipped with piper-tts, which
every worker has) turns both texts into phonemes; when they are about as long
and nearly the same, the sentence was said. A dropped ending or a repeated
clause changes the length, and babble changes the sounds, so neither passes
this way; silence and repeats are never reconsidered at all.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Any, Optional

from .language import base_language
from .verdict import DEFAULT_THRESHOLDS, Thresholds, Verdict

__all__ = ["PhoneticMatch", "Phonemes", "rescue"]

_LOG = logging.getLogger(__name__)

#: lowest phoneme similarity that counts as said (clean Piper lines heard by tiny.en that fail word by word
#: score 0.72-1.0; the damaged takes that reach this test score at most ... see bench/verify_calibrate.py)
MIN_SIMILARITY = 0.75
#: heard phonemes per expected phoneme allowed either way
LENGTH_RANGE = (0.8, 1.25)
#: too few phonemes to tell anything by sound
_MIN_PHONEMES = 4
#: problems that a sound comparison may overturn: other words written for the sounds that were said
_RECONSIDERED = frozenset({"mismatch", "babble", "missing"})
#: stress, length and linking marks: how a sound is said, not which
_MARKS = frozenset("ˈˌːˑ‿")
#: espeak-ng voices for languages whose bare tag is not one
_VOICES = {"en": "en-us", "pt": "pt-br", "zh": "cmn"}


@dataclass(frozen=True)
class PhoneticMatch:
    """How alike two texts sound: ``similarity`` in 0..1 and heard/expected phoneme ``length``."""

    similarity: float
    length: float

    @property
    def said(self) -> bool:
        return self.similarity >= MIN_SIMILARITY and LENGTH_RANGE[0] <= self.length <= LENGTH_RANGE[1]


class Phonemes:
    """Texts to phoneme strings with espeak-ng; unavailable (never raising) without piper-tts."""

    def __init__(self) -> None:
        self._phonemizer: Any = None
        self._failed = False
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._phonemizer is None and not self._failed:
                try:
                    from piper.phonemize_espeak import EspeakPhonemizer

                    self._phonemizer = EspeakPhonemizer()
                except Exception as exc:  # no piper-tts or a broken espeak-ng: judge by words alone
                    _LOG.info("no phoneme comparison: %s", exc)
                    self._failed = True
            return self._phonemizer

    def of(self, text: str, language: str = "en") -> Optional[str]:
        """``text`` as one string of phonemes without stress, length or word breaks; None if unavailable."""
        phonemizer = self._load()
        if phonemizer is None:
            return None
        lang = base_language(language)
        try:
            with self._lock:  # espeak-ng keeps global state
                sentences = phonemizer.phonemize(_VOICES.get(lang, lang), text)
        except Exception:  # an unknown voice: nothing to compare
            return None
        return "".join(p for sentence in sentences for p in sentence
                       if p not in _MARKS and unicodedata.category(p[:1] or " ").startswith("L"))

    def compare(self, expected: str, heard: str, language: str = "en") -> Optional[PhoneticMatch]:
        """How alike ``expected`` and ``heard`` sound; None when it cannot be told."""
        # the recogniser's capitals are its own: "BAM" is a word heard loudly, not letters to spell out
        a, b = self.of(expected, language), self.of(heard.lower(), language)
        if not a or not b or len(a) < _MIN_PHONEMES:
            return None
        return PhoneticMatch(round(SequenceMatcher(None, a, b, autojunk=False).ratio(), 4), round(len(b) / len(a), 4))


def rescue(verdict: Verdict, expected: str, language: str, phonemes: Phonemes,
           limits: Thresholds = DEFAULT_THRESHOLDS) -> Verdict:
    """``verdict`` passed if its sentence was flagged only for words written otherwise yet sounds as written.

    A sentence with a run of words not heard at all (``limits.max_missing_run``) is never
    reconsidered: a dropped clause is the damage the check exists for, however alike the rest.
    """
    if (not verdict.flagged or verdict.problem not in _RECONSIDERED or verdict.repeated or not verdict.heard
            or verdict.missing_run >= limits.max_missing_run):
        return verdict
    match = phonemes.compare(expected, verdict.heard, language)
    if match is None or not match.said:
        return verdict
    return replace(verdict, status="passed", problem="",
                   reason=f"heard as other words that sound the same (phonemes {match.similarity:.2f} alike)")
