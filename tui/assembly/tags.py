"""Tags written into the output, from the book's metadata.

ffmpeg maps these generic names to each container's own fields (MP4 atoms,
ID3 frames, Vorbis comments). MP4 keeps the language on the audio track as an
ISO 639-2 code, so two-letter codes are widened here.
"""

from __future__ import annotations

from typing import Optional

from tui.book.model import BookMeta

__all__ = ["book_tags", "chapter_tags", "iso639_2"]

GENRE = "Audiobook"

_ISO639_1_TO_2 = {
    "ar": "ara", "bg": "bul", "ca": "cat", "cs": "cze", "cy": "wel", "da": "dan", "de": "ger",
    "el": "gre", "en": "eng", "es": "spa", "et": "est", "eu": "baq", "fa": "per", "fi": "fin",
    "fr": "fre", "ga": "gle", "gl": "glg", "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun",
    "id": "ind", "is": "ice", "it": "ita", "ja": "jpn", "ka": "geo", "kk": "kaz", "ko": "kor",
    "lb": "ltz", "lt": "lit", "lv": "lav", "ms": "may", "mt": "mlt", "nb": "nob", "ne": "nep",
    "nl": "dut", "nn": "nno", "no": "nor", "pl": "pol", "pt": "por", "ro": "rum", "ru": "rus",
    "sk": "slo", "sl": "slv", "sr": "srp", "sv": "swe", "sw": "swa", "te": "tel", "th": "tha",
    "tr": "tur", "uk": "ukr", "ur": "urd", "vi": "vie", "zh": "chi",
}


def iso639_2(language: str) -> Optional[str]:
    """``en``/``en-US``/``eng`` → ``eng``; None when unknown."""
    code = str(language or "").strip().lower().replace("_", "-").split("-")[0]
    if len(code) == 3 and code.isalpha():
        return code
    return _ISO639_1_TO_2.get(code)


def book_tags(meta: BookMeta) -> dict[str, str]:
    authors = ", ".join(a for a in meta.authors if a)
    return {
        "title": meta.title,
        "album": meta.title,
        "artist": authors,
        "album_artist": authors,
        "genre": GENRE,
        "date": meta.year or meta.date,
        "language": iso639_2(meta.language) or meta.language,
        "publisher": meta.publisher,
        "comment": meta.description,
        "description": meta.description,
    }


def chapter_tags(meta: BookMeta, title: str, track: int, tracks: int) -> dict[str, str]:
    """Tags for one file of a book split by chapter."""
    tags = book_tags(meta)
    tags["title"] = title
    tags["track"] = f"{track}/{tracks}"
    return tags
