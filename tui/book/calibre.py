"""Formats we do not parse ourselves, through calibre's ``ebook-convert`` when it is installed.

The book is converted to EPUB in a private temporary folder and read with the
EPUB reader, so every check that applies to EPUB files applies here too. The
converted EPUB has lost the source's landmarks, so the EPUB reader recognises its
front and back matter by title and position (:mod:`matter`). FB2 is read directly
(:mod:`fb2`); ``.fbz`` (zipped FB2) still goes through calibre.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .epub import load_epub
from .model import Book, BookError

__all__ = ["CALIBRE_SUFFIXES", "CONVERT_TIMEOUT_S", "load_with_calibre"]

CALIBRE_SUFFIXES = (
    ".azw", ".azw3", ".azw4", ".docx", ".fbz", ".lit", ".mobi", ".odt", ".pdb", ".pdf", ".prc", ".rtf",
)
CONVERT_TIMEOUT_S = 900


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


def load_with_calibre(path: Path, *, include_all: bool = False, timeout_s: float = CONVERT_TIMEOUT_S) -> Book:
    """Convert ``path`` to EPUB with ``ebook-convert``, then read it; BookError when that is impossible."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "this"
    exe = shutil.which("ebook-convert")
    if exe is None:
        raise BookError(
            f"{path.name}: reading .{fmt} books needs calibre's ebook-convert, which is not installed; "
            "install calibre (e.g. apt install calibre) or convert the book to EPUB first"
        )
    with tempfile.TemporaryDirectory(prefix="e2a-convert-") as tmp:
        out = Path(tmp) / "converted.epub"
        try:
            proc = subprocess.run(
                [exe, str(path.resolve()), str(out)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout_s,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            raise BookError(f"ebook-convert took longer than {timeout_s:.0f} s on {path.name}; gave up") from None
        except OSError as exc:
            raise BookError(f"cannot run ebook-convert: {exc.strerror or exc}") from None
        if proc.returncode != 0 or not out.is_file():
            reason = _last_line(proc.stderr) if proc.stderr.strip() else _last_line(proc.stdout)
            raise BookError(f"ebook-convert could not convert {path.name}: {reason}")
        try:
            book = load_epub(out, include_all=include_all, calibre_made=True, default_title=path.stem)
        except BookError as exc:
            raise BookError(str(exc).replace(out.name, path.name)) from None
    book.source_path = path
    return book
