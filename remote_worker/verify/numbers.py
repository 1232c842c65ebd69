"""Digits → words, so "1984" written by the recogniser meets "nineteen eighty-four" in the text.

Both sides go through the same rules: ordinals ("21st"), years (four digits,
read as a year), clock times, percentages, currency amounts, grouped numbers
("1,000") and decimals. num2words is imported on first use; without it, or for a
language it lacks, digits stay digits on both sides, which still compare equal.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Optional

from .language import base_language

__all__ = ["spell_numbers"]

_DIGIT = re.compile(r"\d")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_CURRENCY = re.compile(r"([$£€])\s?(\d[\d,]*)(?:\.(\d\d))?\b")
_PERCENT = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s?%")
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?!\w)")
_UNITS = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
          "€": ("euro", "euros", "cent", "cents")}
_PERCENT_WORD = {"en": "percent", "de": "Prozent", "fr": "pour cent", "es": "por ciento", "it": "per cento",
                 "pt": "por cento", "nl": "procent"}


@lru_cache(maxsize=1)
def _num2words() -> Optional[Callable[..., str]]:
    try:
        from num2words import num2words
    except ImportError:
        return None
    return num2words


@lru_cache(maxsize=4096)
def _say(value: str, lang: str, to: str = "cardinal") -> str:
    convert = _num2words()
    if convert is None:
        return value
    try:
        number = float(value) if "." in value else int(value)
        return convert(number, lang=lang, to=to).replace(",", "")
    except (NotImplementedError, ValueError, OverflowError, TypeError, KeyError, AttributeError):
        return value


def _plain(match: "re.Match[str]", lang: str) -> str:
    whole, fraction = match.group(1).replace(",", ""), match.group(2)
    if fraction is not None:
        return _say(f"{whole}.{fraction}", lang)
    if "," not in match.group(1) and len(whole) == 4 and whole[0] != "0" and 1000 < int(whole) < 2100:
        return _say(whole, lang, "year")
    return _say(whole, lang)


def _money(match: "re.Match[str]", lang: str) -> str:
    one, many, sub_one, sub_many = _UNITS[match.group(1)]
    units = int(match.group(2).replace(",", ""))
    text = f"{_say(str(units), lang)} {one if units == 1 else many}"
    cents = int(match.group(3) or 0)
    if cents:
        text += f" {_say(str(cents), lang)} {sub_one if cents == 1 else sub_many}"
    return text


def _clock(match: "re.Match[str]", lang: str) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        return f"{_say(str(hours), lang)} o'clock"
    middle = " oh " if minutes < 10 else " "
    return _say(str(hours), lang) + middle + _say(str(minutes), lang)


def spell_numbers(text: str, language: str = "en") -> str:
    """``text`` with every number written out in ``language`` (a primary tag such as ``"en"``)."""
    if _DIGIT.search(text) is None:
        return text
    lang = base_language(language)
    if lang == "en":
        text = _CURRENCY.sub(lambda m: _money(m, lang), text)
        text = _CLOCK.sub(lambda m: _clock(m, lang), text)
    if "%" in text and lang in _PERCENT_WORD:
        text = _PERCENT.sub(lambda m: m.group(1) + " " + _PERCENT_WORD[lang], text)
    text = _ORDINAL.sub(lambda m: _say(m.group(1), lang, "ordinal"), text)
    return _NUMBER.sub(lambda m: _plain(m, lang), text)
