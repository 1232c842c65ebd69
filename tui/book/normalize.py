"""Numbers and symbols → words, so every engine reads them the same way.

Piper (espeak) reads "$3.50" as "dollar three point five zero" and XTTS reads
digits unpredictably; spelling them out first gives one reading everywhere.
Handled, with num2words in the text's language: currency amounts, percentages,
ordinals ("21st"), clock times, years ("1984" → "nineteen eighty-four"),
decades ("1920s"), decimals, grouped and plain numbers, and roman numerals that
number chapters, parts, books or acts ("Chapter XIV", or a heading that starts
with "IV."). Languages num2words lacks keep their digits for the engine.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Optional

from num2words import CONVERTER_CLASSES, num2words

from .language import primary_language
from .xhtml import clean_text

__all__ = ["normalize_text", "roman_to_int", "NUMBERED_HEADINGS"]

_DIGIT = re.compile(r"\d")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b(?!:)")
_DECADE = re.compile(r"\b(1[1-9]\d0|20[0-9]0)['’]?s\b")
_ROMAN_VALID = re.compile(r"^M{0,4}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}

#: Words that number a book's parts, by language: ``Chapter XIV``, ``Kapitel 3``, ``Acte II``.
NUMBERED_HEADINGS = {
    "en": "chapter|chap|book|part|volume|vol|section|act|scene|canto|letter|appendix|stave|article",
    "de": "kapitel|buch|teil|band|abschnitt|akt|szene|brief|anhang",
    "fr": "chapitre|livre|partie|tome|volume|section|acte|scène|lettre|annexe",
    "es": "capítulo|capitulo|libro|parte|tomo|volumen|sección|acto|escena|carta",
    "it": "capitolo|libro|parte|volume|sezione|atto|scena|lettera",
    "pt": "capítulo|capitulo|livro|parte|volume|seção|secção|ato|acto|cena|carta",
    "nl": "hoofdstuk|boek|deel|bedrijf|scène|brief",
}
_PERCENT = {"en": "percent", "de": "Prozent", "fr": "pour cent", "es": "por ciento", "it": "per cento",
            "pt": "por cento", "nl": "procent"}
_AND = {"en": "and", "de": "und", "fr": "et", "es": "y", "it": "e", "pt": "e", "nl": "en"}
_CURRENCY_CODES = {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY"}
_EN_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "", ""),
}
_SCALES = r"(?:\s?(thousand|million|billion|trillion|bn|m)\b)?"
_ORDINAL = {
    "en": re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE),
    "fr": re.compile(r"\b(\d+)(?:er|re|e|ème|eme)\b"),
    "es": re.compile(r"\b(\d+)[ºª]"),
    "it": re.compile(r"\b(\d+)[ºª]"),
    "pt": re.compile(r"\b(\d+)[ºª]"),
}


def roman_to_int(numeral: str) -> Optional[int]:
    """``XIV`` → 14; None when ``numeral`` is not a well-formed roman numeral."""
    numeral = numeral.upper()
    if not numeral or not _ROMAN_VALID.match(numeral):
        return None
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        if i + 1 < len(numeral) and _ROMAN_VALUES[numeral[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


def _n2w_lang(lang: str) -> Optional[str]:
    return lang if lang in CONVERTER_CLASSES else None


@lru_cache(maxsize=8192)
def _words(value: object, lang: str, to: str = "cardinal") -> str:
    # num2words groups large numbers with commas, which engines read as pauses
    return num2words(value, lang=lang, to=to).replace(",", "")


class _Normalizer:
    def __init__(self, lang: str, n2w: str) -> None:
        self.lang = lang
        self.n2w = n2w
        self.en = lang == "en"
        self.thousands = "," if self.en else "."
        self.decimal = "." if self.en else ","
        t, d = re.escape(self.thousands), re.escape(self.decimal)
        self.number_pattern = rf"(\d{{1,3}}(?:{t}\d{{3}})+|\d+)(?:{d}(\d+))?"
        self.number = re.compile(rf"(?<![\w.,]){self.number_pattern}(?![\w]|[.,]\d)")
        self.currency_before = re.compile(rf"([$£€¥])\s?{self.number_pattern}{_SCALES}")
        self.currency_after = re.compile(rf"(?<![\w.,]){self.number_pattern}{_SCALES}\s?([$£€¥])")
        self.percent = re.compile(rf"(?<![\w.,]){self.number_pattern}\s?%")
        keywords = NUMBERED_HEADINGS.get(lang, "") + ("|" + NUMBERED_HEADINGS["en"] if lang != "en" else "")
        self.keywords = tuple(sorted(set(keywords.split("|"))))
        self.numbered = re.compile(rf"\b({keywords})(\.?\s+)([IVXLCDM]+|[ivxlcdm]+)\b(?![''’]\w)", re.IGNORECASE)

    # -------------------------------------------------------------- numbers
    def _value(self, whole: str, frac: Optional[str]) -> Decimal:
        digits = whole.replace(self.thousands, "")
        return Decimal(f"{digits}.{frac}") if frac else Decimal(digits)

    def cardinal(self, value: object) -> str:
        return _words(value, self.n2w)

    def decimal_words(self, whole: str, frac: Optional[str]) -> str:
        try:
            return self.cardinal(self._value(whole, frac))
        except (InvalidOperation, ValueError, OverflowError, NotImplementedError):
            return whole + (self.decimal + frac if frac else "")

    def number_words(self, m: "re.Match[str]") -> str:
        whole, frac = m.group(1), m.group(2)
        if frac is None and self.thousands not in whole and len(whole) == 4 and whole[0] != "0":
            value = int(whole)
            if 1000 < value <= (2099 if self.en else 1999) and value != 2000:
                try:
                    return _words(value, self.n2w, "year")
                except (NotImplementedError, ValueError, OverflowError):
                    pass
        if frac is None and len(whole.replace(self.thousands, "")) > 15:
            return " ".join(self.cardinal(int(d)) for d in whole if d.isdigit())  # an identifier: digit by digit
        return self.decimal_words(whole, frac)

    # -------------------------------------------------------------- passes
    def currency(self, m: "re.Match[str]", before: bool) -> str:
        if before:
            symbol, whole, frac, scale = m.group(1), m.group(2), m.group(3), m.group(4)
        else:
            whole, frac, scale, symbol = m.group(1), m.group(2), m.group(3), m.group(4)
        if not self.en:
            if scale:
                return m.group(0)
            try:
                return num2words(
                    self._value(whole, frac), lang=self.n2w, to="currency", currency=_CURRENCY_CODES[symbol]
                ).replace(",", "")
            except (NotImplementedError, KeyError, ValueError, TypeError, InvalidOperation):
                return m.group(0)
        one, many, sub_one, sub_many = _EN_CURRENCY[symbol]
        if scale:
            scale_word = {"bn": "billion", "m": "million"}.get(scale.lower(), scale.lower())
            return f"{self.decimal_words(whole, frac)} {scale_word} {many}"
        units = int(whole.replace(self.thousands, ""))
        text = f"{self.cardinal(units)} {one if units == 1 else many}"
        if frac and sub_one:
            cents = int((frac + "0")[:2])
            if cents:
                text += f" and {self.cardinal(cents)} {sub_one if cents == 1 else sub_many}"
        return text

    def roman_numbered(self, m: "re.Match[str]") -> str:
        numeral = m.group(3)
        if numeral.lower() == numeral and len(numeral) == 1 and numeral not in "ivx":
            return m.group(0)
        value = roman_to_int(numeral)
        if value is None:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{self.cardinal(value)}"

    def leading_roman(self, text: str) -> str:
        """``IV. Death by Water`` → ``Four. Death by Water`` (headings and short lines only)."""
        m = re.match(r"([IVXLCDM]{1,8})\.(\s+|$)", text)
        if m is None or len(text) > 100:
            return text
        numeral = m.group(1)
        if len(numeral) == 1 and numeral not in "IVX":
            return text
        if re.match(r"[A-Z]\.", text[m.end():]):
            return text  # initials: "C. S. Lewis"
        value = roman_to_int(numeral)
        if value is None:
            return text
        word = self.cardinal(value)
        return word[:1].upper() + word[1:] + "." + m.group(2) + text[m.end():]

    def time_words(self, m: "re.Match[str]") -> str:
        hours, minutes = int(m.group(1)), int(m.group(2))
        if minutes == 0:
            return f"{self.cardinal(hours)} o'clock"
        if minutes < 10:
            return f"{self.cardinal(hours)} oh {self.cardinal(minutes)}"
        return f"{self.cardinal(hours)} {self.cardinal(minutes)}"

    def decade(self, m: "re.Match[str]") -> str:
        value = int(m.group(1))
        words = _words(value, "en", "year")
        if words.endswith("y"):
            return words[:-1] + "ies"
        return words + "s"

    def run(self, text: str) -> str:
        text = self.leading_roman(text)
        lowered = text.lower()
        if any(k in lowered for k in self.keywords):  # a cheap filter before the regex
            text = self.numbered.sub(self.roman_numbered, text)
        if " & " in text and self.lang in _AND:
            text = text.replace(" & ", f" {_AND[self.lang]} ")
        if _DIGIT.search(text) is None:
            return text
        if any(symbol in text for symbol in _CURRENCY_CODES):
            text = self.currency_before.sub(lambda m: self.currency(m, True), text)
            text = self.currency_after.sub(lambda m: self.currency(m, False), text)
        if self.lang in _PERCENT and "%" in text:
            word = _PERCENT[self.lang]
            text = self.percent.sub(lambda m: f"{self.decimal_words(m.group(1), m.group(2))} {word}", text)
        ordinal = _ORDINAL.get(self.lang)
        if ordinal is not None:
            text = ordinal.sub(lambda m: _words(int(m.group(1)), self.n2w, "ordinal"), text)
        if self.en:
            if ":" in text:
                text = _CLOCK.sub(self.time_words, text)
            text = _DECADE.sub(self.decade, text)
        return self.number.sub(self.number_words, text)


_NORMALIZERS: dict[str, Optional[_Normalizer]] = {}


def _normalizer(language: str) -> Optional[_Normalizer]:
    lang = primary_language(language)
    if lang not in _NORMALIZERS:
        n2w = _n2w_lang(lang)
        _NORMALIZERS[lang] = _Normalizer(lang, n2w) if n2w else None
    return _NORMALIZERS[lang]


def normalize_text(text: str, language: str = "en") -> str:
    """Spell out numbers and symbols in ``text`` (one paragraph or title); whitespace is collapsed."""
    text = clean_text(text)
    if not text:
        return text
    normalizer = _normalizer(language)
    if normalizer is None:
        return text
    return normalizer.run(text)

