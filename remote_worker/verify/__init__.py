"""Verified audio: hear every spoken sentence back, speak again what was not heard, report the rest.

Typical use on a worker, once per engine replica::

    verifier = Verifier(SpeechRecognizer(threads=1))
    verifier.load()                       # at start; availability() says why not
    check = verifier.check_unit(samples, rate, sentences, timings, language="en")
    results = retake_flagged(
        len(sentences),
        speak=lambda i, take: ...,        # take 0 is the first take
        verify=lambda ids, audio: verifier.check_takes(audio, rate, [sentences[i] for i in ids], "en").verdicts,
        first=(pieces, check.verdicts),
    )

faster-whisper is optional: without it the package imports, and every verdict
is *unverified* with the reason.
"""

from __future__ import annotations

from .asr import (
    DEFAULT_MODEL_NAME,
    Availability,
    ModelSource,
    RecognizerUnavailable,
    SpeechRecognizer,
    asr_availability,
    resolve_model,
)
from .normalize import TextNormalizer, normalize_words
from .retake import DEFAULT_MAX_TAKES, TakeResult, retake_flagged
from .transcript import HeardWord, Transcript
from .unit import judge_unit
from .verdict import Thresholds, Verdict, judge_sentence
from .verifier import UnitCheck, Verifier, layout_takes

__all__ = [
    "DEFAULT_MAX_TAKES",
    "DEFAULT_MODEL_NAME",
    "Availability",
    "HeardWord",
    "ModelSource",
    "RecognizerUnavailable",
    "SpeechRecognizer",
    "TakeResult",
    "TextNormalizer",
    "Thresholds",
    "Transcript",
    "UnitCheck",
    "Verdict",
    "Verifier",
    "asr_availability",
    "judge_sentence",
    "judge_unit",
    "layout_takes",
    "normalize_words",
    "resolve_model",
    "retake_flagged",
]
