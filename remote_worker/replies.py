"""The ``POST /process_chapter`` reply for a unit that was spoken, before its audio is attached."""

from __future__ import annotations

from typing import Optional, Sequence

from .encoding import EncodedUnit
from .engine_runner import Synthesis
from .engines.base import Engine
from .protocol import ProcessChapterRequest, ProcessChapterResponse, SentenceTiming
from .speaking import SpokenSentence

__all__ = ["chapter_reply"]


def chapter_reply(body: ProcessChapterRequest, synthesis: Synthesis, encoded: EncodedUnit,
                  engine: Engine) -> ProcessChapterResponse:
    """Seed fields and extensions; ``audio_base64`` / ``audio_url`` are left to :mod:`delivery`."""
    assembled = encoded.assembled
    return ProcessChapterResponse(
        chapter_id=body.chapter_id,
        duration=assembled.duration,
        num_sentences=len(body.sentences),
        sample_rate=engine.sample_rate,
        num_samples=assembled.num_samples,
        format=body.audio_format,
        sha256=encoded.sha256,
        size_bytes=len(encoded.data),
        sentence_timings=_timings(assembled.timings_seconds(), synthesis.sentences),
        synthesis_seconds=synthesis.engine_seconds,
        engine=engine.name,
        voice=engine.voice,
        checks=synthesis.checks,
    )


def _timings(spans: list[tuple[float, float]], spoken: Sequence[Optional[SpokenSentence]]) -> list[SentenceTiming]:
    """Sentence spans plus how each was spoken (pieces, second take, what the check found)."""
    out = []
    for index, (start, end) in enumerate(spans):
        said = spoken[index] if index < len(spoken) else None
        if said is None:
            out.append(SentenceTiming(start=start, end=end))
        else:
            out.append(SentenceTiming(start=start, end=end, pieces=said.pieces,
                                      resynthesised=said.resynthesised, warning=said.warning))
    return out
