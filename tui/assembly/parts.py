"""Encoding one chapter's samples into its own part file."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterable

import numpy as np

from tui.assembly.ffmpeg import FfmpegPipe
from tui.assembly.formats import FormatSpec

__all__ = ["encode_part"]


def encode_part(
    ffmpeg: str,
    spec: FormatSpec,
    rate: int,
    bitrate: str,
    blocks: Iterable[np.ndarray],
    dest: Path,
    *,
    what: str,
) -> int:
    """Stream float32 mono ``blocks`` at ``rate`` through the encoder into ``dest``.

    Writes under a temporary name and renames, so a part on disk is always
    complete. Returns the number of samples encoded.
    """
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:8]}{dest.suffix}.tmp")
    args = [
        "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
        *spec.encoder_args(bitrate), "-ac", "1",
        *spec.part_muxer, str(tmp),
    ]
    total = 0
    try:
        with FfmpegPipe(ffmpeg, args, what=what) as pipe:
            for block in blocks:
                data = np.ascontiguousarray(block, dtype="<f4")
                if data.size:
                    pipe.write(memoryview(data).cast("B"))
                    total += int(data.size)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return total
