"""A book file's identity for resuming: the SHA-256 of its bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Union

from ..hashing import file_sha256
from .model import BookError

__all__ = ["book_fingerprint"]


def book_fingerprint(path: Union[str, Path]) -> str:
    """Hex SHA-256 of the file, read in chunks so large books never sit in memory."""
    try:
        return file_sha256(path)
    except OSError as exc:
        raise BookError(f"{path}: {exc.strerror or exc}") from None
