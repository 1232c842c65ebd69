"""One unit's sentence audio joined with its pauses and encoded once, with the hash of what is sent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import anyio
import numpy as np

from .audio import AssembledAudio, assemble, encode, silence_samples
from .engine_runner import Synthesis
from .protocol import ProcessChapterRequest

__all__ = ["EncodedUnit", "encode_unit"]


@dataclass(frozen=True)
class EncodedUnit:
    """The joined audio (for durations and timings) and its encoded bytes."""

    assembled: AssembledAudio
    data: bytes
    sha256: str


async def encode_unit(synthesis: Synthesis, sample_rate: int, body: ProcessChapterRequest) -> EncodedUnit:
    """Join on the event loop (cheap), encode on a thread (not cheap: mp3, long units)."""
    assembled = assemble(
        synthesis.pieces,
        sample_rate,
        sentence_gap_ms=body.sentence_gap_ms,
        paragraph_gap_ms=body.paragraph_gap_ms,
        paragraph_starts=body.paragraph_starts,
        trailing_gap_ms=body.trailing_gap_ms,
    )
    if not any(end > start for start, end in assembled.spans):
        # Text that is not blank but has nothing to pronounce ("—", "…"): the schema allows it, so it
        # is answered, with a short silence rather than a refusal that would fail the unit for good.
        assembled = _silence(sample_rate, max(body.trailing_gap_ms, body.sentence_gap_ms), len(body.sentences))
    data, digest = await anyio.to_thread.run_sync(_encode_and_hash, assembled.samples, sample_rate,
                                                  body.audio_format)
    return EncodedUnit(assembled=assembled, data=data, sha256=digest)


def _silence(sample_rate: int, milliseconds: int, sentences: int) -> AssembledAudio:
    """At least one sample of silence; every sentence a zero-length span at its start."""
    samples = np.zeros(max(1, silence_samples(milliseconds, sample_rate)), dtype=np.float32)
    return AssembledAudio(samples=samples, sample_rate=sample_rate, spans=[(0, 0)] * sentences)


def _encode_and_hash(samples: np.ndarray, sample_rate: int, audio_format: str) -> tuple[bytes, str]:
    data = encode(samples, sample_rate, audio_format)
    return data, hashlib.sha256(data).hexdigest()
