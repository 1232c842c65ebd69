"""Verified audio: hear every spoken sentence back, speak again what was not heard, report the rest.

Typical use on a worker, beside each engine replica::

    verifier = Verifier(SpeechRecognizer(threads=1))
    verifier.load()                       # at start; availability() says why not
    unit = verify_unit_pieces(verifier, pieces, rate, sentences, "en",
                              speak=lambda i, take: ...)   # take 1, 2, ... of sentence i
    unit.pieces, unit.verdicts, unit.flagged                # assemble, report, warn

The parts can also be used alone: :meth:`Verifier.check_unit` for an assembled
unit with its sentence timings, :func:`retake_flagged` for the retake loop.

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
from .pipeline import VerifiedUnit, verify_unit_pieces
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
    "VerifiedUnit",
    "Verifier",
    "asr_availability",
    "judge_sentence",
    "judge_unit",
    "layout_takes",
    "normalize_words",
    "resolve_model",
    "retake_flagged",
    "verify_unit_pieces",
]
