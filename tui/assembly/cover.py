"""The book's cover as ffmpeg input, or as the Ogg METADATA_BLOCK_PICTURE tag.

Only JPEG and PNG are passed on (what every audiobook player shows); the type
is taken from the bytes themselves, since declared MIME types are often wrong.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Optional

__all__ = ["cover_type", "write_cover", "metadata_block_picture"]

_FRONT_COVER = 3


def cover_type(data: Optional[bytes]) -> Optional[str]:
    """``"image/jpeg"``, ``"image/png"`` or None for anything else."""
    if not data:
        return None
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return None


def write_cover(data: Optional[bytes], folder: Path) -> Optional[Path]:
    mime = cover_type(data)
    if mime is None:
        return None
    path = Path(folder) / ("cover.jpg" if mime == "image/jpeg" else "cover.png")
    path.write_bytes(data or b"")
    return path


def metadata_block_picture(data: Optional[bytes]) -> Optional[str]:
    """A FLAC PICTURE block, base64-encoded, as Ogg players read cover art.

    Width, height and depth are written as 0 ("not given"); players read the
    dimensions from the image itself.
    """
    mime = cover_type(data)
    if mime is None or data is None:
        return None
    mime_bytes = mime.encode("ascii")
    block = (
        struct.pack(">II", _FRONT_COVER, len(mime_bytes))
        + mime_bytes
        + struct.pack(">I", 0)  # empty description
        + struct.pack(">IIIII", 0, 0, 0, 0, len(data))
        + data
    )
    return base64.b64encode(block).decode("ascii")
