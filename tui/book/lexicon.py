"""The user's pronunciation lexicon: words or patterns → what the engine should say.

A TOML file with up to three keys::

    ignore_case = false          # optional, applies to [words]

    [words]                      # whole words (or tokens such as "Dr."), replaced as written
    Hermione = "Her-my-oh-nee"
    "Dr." = "Doctor"

    [regex]                      # Python regular expressions, applied in file order after [words]
    '\\bSt\\.(?= [A-Z])' = "Saint"
    '(\\d+) ?mph' = '\\1 miles per hour'

It is applied to each paragraph before numbers are spelled out, so a rule for
"C3PO" or "1984" sees the text as printed in the book.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .model import BookError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Lexicon", "load_lexicon", "parse_lexicon"]

_KNOWN_KEYS = {"words", "regex", "ignore_case"}


@dataclass
class Lexicon:
    """Compiled replacements; ``apply`` is cheap enough to run on every paragraph."""

    words: dict[str, str] = field(default_factory=dict)
    regex: list[tuple["re.Pattern[str]", str]] = field(default_factory=list)
    ignore_case: bool = False

    def __post_init__(self) -> None:
        self._lookup = {(k.lower() if self.ignore_case else k): v for k, v in self.words.items()}
        self._words_re = None
        if self.words:
            alternatives = []
            for key in sorted(self.words, key=len, reverse=True):
                left = r"(?<!\w)" if re.match(r"\w", key) else ""
                right = r"(?!\w)" if re.search(r"\w$", key) else ""
                alternatives.append(f"{left}{re.escape(key)}{right}")
            flags = re.IGNORECASE if self.ignore_case else 0
            self._words_re = re.compile("|".join(alternatives), flags)

    def _word(self, m: "re.Match[str]") -> str:
        found = m.group(0)
        return self._lookup.get(found.lower() if self.ignore_case else found, found)

    def apply(self, text: str) -> str:
        if self._words_re is not None:
            text = self._words_re.sub(self._word, text)
        for pattern, replacement in self.regex:
            text = pattern.sub(replacement, text)
        return text

    def __len__(self) -> int:
        return len(self.words) + len(self.regex)


def _fail(path: Union[str, Path], message: str) -> BookError:
    return BookError(f"lexicon {path}: {message}")


def parse_lexicon(data: dict[str, Any], path: Union[str, Path] = "<lexicon>") -> Lexicon:
    """Validate a decoded TOML document; BookError names the file and the bad entry."""
    for key in data:
        if key not in _KNOWN_KEYS:
            raise _fail(path, f"unknown entry {key!r}; expected ignore_case, [words] and [regex]")
    ignore_case = data.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise _fail(path, "ignore_case must be true or false")
    words: dict[str, str] = {}
    table = data.get("words", {})
    if not isinstance(table, dict):
        raise _fail(path, "words must be a table ([words])")
    for key, value in table.items():
        if not key.strip():
            raise _fail(path, "[words] has an empty word")
        if not isinstance(value, str):
            raise _fail(path, f"[words] entry {key!r} must map to a string, not {type(value).__name__}")
        words[key] = value
    patterns: list[tuple[re.Pattern[str], str]] = []
    table = data.get("regex", {})
    if not isinstance(table, dict):
        raise _fail(path, "regex must be a table ([regex])")
    for key, value in table.items():
        if not isinstance(value, str):
            raise _fail(path, f"[regex] entry {key!r} must map to a string, not {type(value).__name__}")
        try:
            pattern = re.compile(key)
            pattern.sub(value, "")  # checks group references in the replacement
        except re.error as exc:
            raise _fail(path, f"[regex] entry {key!r} is not valid ({exc})") from None
        if pattern.match(""):
            raise _fail(path, f"[regex] entry {key!r} matches empty text")
        patterns.append((pattern, value))
    return Lexicon(words=words, regex=patterns, ignore_case=ignore_case)


def load_lexicon(path: Union[str, Path]) -> Lexicon:
    """Read a TOML lexicon file; BookError with a one-line message for anything wrong with it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML ({' '.join(str(exc).split())})") from None
    return parse_lexicon(data, path)
