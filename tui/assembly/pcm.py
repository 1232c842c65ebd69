"""Reading a unit's audio as mono float samples at the chapter's rate.

soundfile gives exact sample counts without any probing tool; a unit at a
different rate (one engine at 22 050 Hz, another at 24 000 Hz) is resampled by
ffmpeg so every chapter of a book shares one rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tui.assembly.errors import AssemblyError
from tui.assembly.ffmpeg import run_ffmpeg

__all__ = ["PcmInfo", "unit_info", "read_unit"]


@dataclass(frozen=True)
class PcmInfo:
    rate: int
    frames: int
    channels: int


def unit_info(path: Path) -> PcmInfo:
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / OSError
        raise AssemblyError(f"cannot read unit audio {Path(path).name}: {_reason(exc)}") from None
    return PcmInfo(rate=int(info.samplerate), frames=int(info.frames), channels=int(info.channels))


def read_unit(ffmpeg: str, path: Path, info: PcmInfo, rate: int) -> np.ndarray:
    """The unit's samples as float32 mono at ``rate``."""
    if info.rate == rate:
        try:
            data, _ = sf.read(str(path), dtype="float32", always_2d=True)
        except Exception as exc:
            raise AssemblyError(f"cannot read unit audio {Path(path).name}: {_reason(exc)}") from None
        mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
        return np.ascontiguousarray(mono, dtype=np.float32)
    raw = run_ffmpeg(
        ffmpeg,
        ["-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"],
        what=f"resampling {Path(path).name} to {rate} Hz",
        stdout=True,
    )
    return np.frombuffer(raw, dtype="<f4").astype(np.float32, copy=False)


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
