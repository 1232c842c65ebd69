"""One call for a worker: hear a unit's sentences, speak again the ones not heard, return what to send.

It runs where the engine runs (the replica's own thread), after every sentence
of the unit has been spoken once and before the unit is assembled: the first
takes are heard together in one recognition call, laid out with short gaps, so
nothing depends on the request's own pauses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from .retake import DEFAULT_MAX_TAKES, SpeakTake, TakeResult, retake_flagged
from .verdict import Verdict
from .verifier import UnitCheck, Verifier

__all__ = ["RETAKE_PACE_ALLOWANCE", "VerifiedUnit", "verify_unit_pieces"]

#: retakes may be spoken at another pace (a new take of a steady engine): up to this much slower
#: than the first takes is not taken for unheard speech
RETAKE_PACE_ALLOWANCE = 1.1


@dataclass(frozen=True)
class VerifiedUnit:
    """The audio to assemble (one piece per sentence), each sentence's verdict and takes, and the cost."""

    pieces: list[np.ndarray]
    results: list[TakeResult]
    first_check: UnitCheck
    asr_seconds: float
    audio_seconds: float

    @property
    def verdicts(self) -> list[Verdict]:
        return [r.verdict for r in self.results]

    @property
    def flagged(self) -> list[int]:
        """Sentences still not heard as written after every take: the ones to report."""
        return [i for i, r in enumerate(self.results) if r.verdict.flagged]


def verify_unit_pieces(
    verifier: Verifier,
    pieces: Sequence[np.ndarray],
    sample_rate: int,
    sentences: Sequence[str],
    language: Optional[str],
    speak: SpeakTake,
    *,
    max_takes: int = DEFAULT_MAX_TAKES,
    spoken_forms: Optional[Mapping[str, str]] = None,
) -> VerifiedUnit:
    """Check the first takes (``pieces``) of ``sentences`` and retake the flagged ones with ``speak``.

    ``speak(index, take_index)`` speaks sentence ``index`` again (take 1, 2, ...).
    Sentences that cannot be checked come back *unverified* with their first take.
    """
    cost = {"asr": 0.0, "audio": 0.0}
    first = verifier.check_takes(list(pieces), sample_rate, list(sentences), language, spoken_forms)
    pace = None if first.seconds_per_char is None else first.seconds_per_char * RETAKE_PACE_ALLOWANCE

    def verify(ids: Sequence[int], audio: Sequence[np.ndarray]) -> Sequence[Verdict]:
        check = verifier.check_takes(audio, sample_rate, [sentences[i] for i in ids], language, spoken_forms,
                                     pace)
        cost["asr"] += check.asr_seconds
        cost["audio"] += check.audio_seconds
        return check.verdicts
    results = retake_flagged(len(sentences), speak, verify, max_takes=max_takes, first=(list(pieces), first.verdicts))
    return VerifiedUnit([r.audio for r in results], results, first, first.asr_seconds + cost["asr"],
                        first.audio_seconds + cost["audio"])
