"""SHA-256 of a file, read in chunks so large books, audio and wheels never sit in memory."""

from __future__ import annotations

import hashlib
import os
from typing import Union

__all__ = ["file_sha256"]


def file_sha256(path: Union[str, "os.PathLike[str]"]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
