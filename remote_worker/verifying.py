"""Verification on this worker: the recogniser it has (or why not), and one call per unit.

A request with ``tts_config.verify`` is spoken as usual; then, on the same
replica thread, every sentence is heard back in one recognition call, the ones
that do not say their text are spoken again (up to ``verify_takes`` takes), the
best take of each is kept, and each sentence's verdict goes back in the answer's
``checks``. A worker without a recogniser says so in ``/health`` and refuses
such a request with 422, never skipping the check silently.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional, Sequence

import numpy as np

from .engines.base import Engine
from .protocol import SentenceCheck, TTSConfig, VerifyInfo
from .speaking import speak_sentence
from .verify import SpeechRecognizer, Verifier
from .verify.pipeline import verify_unit_pieces
from .verify.verifier import Hearing

__all__ = ["UnitVerification", "VerificationCancelled", "build_verification"]

_LOG = logging.getLogger(__name__)

#: pace of each take relative to the request's (the first take is the request's own)
RETAKE_PACES = (1.0, 1.05, 0.96, 1.08, 0.93)


class VerificationCancelled(Exception):
    """The unit was cancelled while it was being heard or spoken again."""


class UnitVerification:
    """Wraps the :class:`Verifier` (None: this worker cannot verify, ``reason`` says why)."""

    def __init__(self, verifier: Optional[Verifier], reason: str = "") -> None:
        self.verifier = verifier
        # known when the worker starts (an import check, no model load), so /health never waits
        self._available = verifier.availability() if verifier is not None else None
        self._reason = reason if verifier is None else ("" if self._available else self._available.reason)
        self.asr_seconds = 0.0  # time spent recognising speech (a float add per unit: no lock needed)
        self.audio_seconds = 0.0  # audio heard
        self.retakes = 0
    @property
    def available(self) -> bool:
        return bool(self._available) and self.verifier is not None and bool(self.verifier.availability())

    def info(self) -> VerifyInfo:
        if not self.available:
            reason = self._reason or (self.verifier.availability().reason if self.verifier else "")
            return VerifyInfo(available=False, reason=reason or "verification is off on this worker")
        recognizer = self.verifier.recognizer if self.verifier is not None else None
        languages = recognizer.languages if recognizer is not None and recognizer.loaded else []
        model = self._available.reason if self._available is not None else ""
        return VerifyInfo(available=True, model=model, languages=languages)

    def refusal(self) -> Optional[str]:
        """Why a request asking to verify must be refused here (None: it can be served)."""
        info = self.info()
        return None if info.available else f"this worker cannot verify: {info.reason}"

    def _load(self) -> None:
        """Load the recogniser on the first unit that asks (a worker never asked pays nothing)."""
        assert self.verifier is not None
        recognizer = self.verifier.recognizer
        if recognizer is not None and not recognizer.loaded:
            available = self.verifier.load()
            _LOG.info("verification: %s", available.reason)

    def verify(self, engine: Engine, sentences: Sequence[str], pieces: list[np.ndarray],
               config: TTSConfig, cancel: Optional[threading.Event] = None,
               ) -> tuple[list[np.ndarray], list[SentenceCheck]]:
        """Hear the unit's first takes, speak again what is not heard; the pieces to assemble and a check
        per sentence (blank sentences pass: there is nothing to say).

        ``cancel`` is looked at before the hearing and before every retake, so a cancelled unit frees
        its replica within one take's time (raises :class:`VerificationCancelled`)."""
        assert self.verifier is not None
        if cancel is not None and cancel.is_set():
            raise VerificationCancelled()
        self._load()
        spoken = [i for i, text in enumerate(sentences) if text.strip()]
        checks = [SentenceCheck(index=i, status="passed") for i in range(len(sentences))]
        if not spoken:
            return pieces, checks
        texts = [sentences[i].strip() for i in spoken]

        def speak(index: int, take: int) -> np.ndarray:
            if cancel is not None and cancel.is_set():
                raise VerificationCancelled()
            # a new take: engines that sample (XTTS) differ by themselves; a slightly other pace also
            # moves a deterministic one (Piper) off the take that failed
            pace = (config.length_scale or 1.0) * RETAKE_PACES[take % len(RETAKE_PACES)]
            return speak_sentence(engine, texts[index], config.model_copy(update={"length_scale": pace}),
                                  check=False).samples

        result = verify_unit_pieces(self.verifier, [pieces[i] for i in spoken], engine.sample_rate, texts,
                                    config.language or "en", speak, max_takes=config.verify_takes)
        self.asr_seconds += result.asr_seconds
        self.audio_seconds += result.audio_seconds
        self.retakes += sum(r.takes - 1 for r in result.results)
        out = list(pieces)
        for position, (index, taken) in enumerate(zip(spoken, result.results)):
            out[index] = taken.audio
            verdict = taken.verdict
            checks[index] = SentenceCheck(index=index, status=verdict.status, score=round(verdict.score, 3),
                                          takes=taken.takes, problem=verdict.problem,
                                          heard=verdict.heard if verdict.status != "passed" else "")
        return out, checks


def build_verification(enabled: bool, model: Optional[str], *, device: str = "auto",
                       threads: int = 1, hearing: Hearing = "windows") -> UnitVerification:
    """From the worker's options: ``model`` a folder or a model name (None: the bundled ``tiny.en``)."""
    if not enabled:
        return UnitVerification(None, "verification was turned off when this worker started (--no-verify)")
    return UnitVerification(Verifier(SpeechRecognizer(model, device=device, threads=threads), hearing=hearing))
