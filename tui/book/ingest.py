"""One entry point for every supported input: pick the reader by file suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Union

from .calibre import CALIBRE_SUFFIXES, load_with_calibre
from .epub import load_epub
from .fb2 import load_fb2
from .model import Book, BookError
from .textfiles import load_html, load_markdown, load_text

__all__ = ["load_book", "SUPPORTED_SUFFIXES"]

_READERS = {
    ".epub": load_epub,
    ".fb2": load_fb2,
    ".txt": load_text,
    ".text": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".xhtml": load_html,
}
SUPPORTED_SUFFIXES = tuple(sorted(set(_READERS) | set(CALIBRE_SUFFIXES)))


def load_book(path: Union[str, Path], *, include_all: bool = False) -> Book:
    """Read a book file into chapters; raises BookError with a one-line message for any bad input."""
    path = Path(path)
    if not path.exists():
        raise BookError(f"{path}: no such file")
    if path.is_dir():
        raise BookError(f"{path} is a folder, not a book file")
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is not None:
        return reader(path, include_all=include_all)
    if suffix in CALIBRE_SUFFIXES:
        return load_with_calibre(path, include_all=include_all)
    shown = suffix or "(no suffix)"
    raise BookError(f"{path.name}: unsupported format {shown}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
