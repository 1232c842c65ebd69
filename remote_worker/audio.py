"""Join sentence PCM into one unit of audio with natural pauses, and encode it once.

Everything is measured in samples, so durations and sentence timings are exact
without probing the encoded file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import soundfile

__all__ = [
    "MEDIA_TYPES",
    "AssembledAudio",
    "assemble",
    "encode",
    "silence_samples",
]

#: Content-Type of each transfer format.
MEDIA_TYPES = {"flac": "audio/flac", "wav": "audio/wav", "mp3": "audio/mpeg"}

_SOUNDFILE_FORMAT = {
    "flac": ("FLAC", "PCM_16"),
    "wav": ("WAV", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}


@dataclass(frozen=True)
class AssembledAudio:
    """One unit's audio and where each sentence lies in it (sample offsets, end exclusive)."""

    samples: np.ndarray
    sample_rate: int
    spans: list[tuple[int, int]]

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate if self.sample_rate else 0.0

    def timings_seconds(self) -> list[tuple[float, float]]:
        rate = float(self.sample_rate)
        return [(start / rate, end / rate) for start, end in self.spans]


def silence_samples(milliseconds: int, sample_rate: int) -> int:
    return int(round(milliseconds * sample_rate / 1000.0))


def assemble(
    pieces: Sequence[np.ndarray],
    sample_rate: int,
    *,
    sentence_gap_ms: int,
    paragraph_gap_ms: int,
    paragraph_starts: Iterable[int] = (),
    trailing_gap_ms: int = 0,
) -> AssembledAudio:
    """Lay the sentences end to end with silence between them.

    The gap before a voiced sentence is ``paragraph_gap_ms`` when it, or an
    empty sentence skipped since the previous voiced one, starts a paragraph;
    otherwise ``sentence_gap_ms``. Empty pieces (nothing to pronounce) take no
    time and add no gap: their span is zero-length at the end of the previous
    voiced sentence. ``trailing_gap_ms`` follows the last voiced sentence.
    """
    paragraphs = set(paragraph_starts)
    sentence_gap = silence_samples(sentence_gap_ms, sample_rate)
    paragraph_gap = silence_samples(paragraph_gap_ms, sample_rate)

    starts: list[int] = []
    cursor = 0
    voiced_before = False
    paragraph_pending = False
    for index, piece in enumerate(pieces):
        paragraph_pending = paragraph_pending or index in paragraphs
        if piece.shape[0] == 0:
            starts.append(-1)
            continue
        if voiced_before:
            cursor += paragraph_gap if paragraph_pending else sentence_gap
        starts.append(cursor)
        cursor += int(piece.shape[0])
        voiced_before = True
        paragraph_pending = False
    total = cursor + (silence_samples(trailing_gap_ms, sample_rate) if voiced_before else 0)

    samples = np.zeros(total, dtype=np.float32)
    spans: list[tuple[int, int]] = []
    last_end = 0
    for piece, start in zip(pieces, starts):
        if start < 0:
            spans.append((last_end, last_end))
            continue
        end = start + int(piece.shape[0])
        samples[start:end] = piece
        spans.append((start, end))
        last_end = end
    return AssembledAudio(samples=samples, sample_rate=sample_rate, spans=spans)


def encode(samples: np.ndarray, sample_rate: int, audio_format: str) -> bytes:
    """Encode mono float32 PCM in memory (16-bit FLAC/WAV, or MP3)."""
    try:
        container, subtype = _SOUNDFILE_FORMAT[audio_format]
    except KeyError:
        raise ValueError(f"unsupported audio format {audio_format!r}") from None
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()
