"""A book file's identity for resuming: the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Union

from .model import BookError

__all__ = ["book_fingerprint"]


def book_fingerprint(path: Union[str, Path]) -> str:
    """Hex SHA-256 of the file, read in chunks so large books never sit in memory."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise BookError(f"{path}: {exc.strerror or exc}") from None
    return digest.hexdigest()
