"""File names for per-chapter output that are safe on every common file system."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["safe_filename"]

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_MAX_CHARS = 100


def safe_filename(text: str, fallback: str) -> str:
    """``text`` without characters that Windows, macOS or Linux reject in a name."""
    name = unicodedata.normalize("NFC", str(text))
    name = _FORBIDDEN.sub(" ", name)
    name = " ".join(name.split())
    name = name[:_MAX_CHARS].strip(" .")
    return name or fallback
