"""The worker-facing check: hear a unit's audio once and judge every sentence in it.

A :class:`Verifier` holds the loaded recogniser beside the engine. It never
raises on a unit: when recognition is missing, fails, or does not know the
unit's language, every sentence comes back *unverified* with the reason, never
as passed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Literal, Mapping, Optional, Sequence

import numpy as np

from ..sanity import SILENCE_RMS
from .asr import Availability, RecognizerUnavailable, SpeechRecognizer, asr_availability
from .normalize import TextNormalizer
from .pace import flag_overlong, speech_length, spoken_chars, unit_pace
from .unit import DEFAULT_TOLERANCE_S, judge_unit
from .verdict import DEFAULT_THRESHOLDS, Thresholds, Verdict, unverified
from .phonetic import Phonemes, rescue
from .windowed import judge_windows
from .windows import plan_windows

#: how a unit is heard first: in windows cut between sentences without timestamps (about half the cost
#: on a CPU), or whole with word timestamps that place each word in time
Hearing = Literal["windows", "timestamps"]

__all__ = ["TAKE_GAP_S", "UnitCheck", "Verifier", "layout_takes", "relisten_layout", "silent_spans",
           "with_context"]

_LOG = logging.getLogger(__name__)

#: silence put between separately spoken takes heard together
TAKE_GAP_S = 0.4


@dataclass(frozen=True)
class UnitCheck:
    """Verdicts for a unit's sentences (in order) and what hearing it cost."""

    verdicts: list[Verdict]
    audio_seconds: float = 0.0
    asr_seconds: float = 0.0
    heard: str = ""
    reason: str = ""
    #: flagged sentences heard a second time on their own
    relistened: int = 0
    #: the voice's pace (seconds per character's worth of speech) measured on this unit, or the one
    #: given, for checking its retakes
    seconds_per_char: Optional[float] = None

    @property
    def verified(self) -> bool:
        return all(v.status != "unverified" for v in self.verdicts)

    @property
    def flagged(self) -> list[int]:
        """Indices of the sentences that failed."""
        return [i for i, v in enumerate(self.verdicts) if v.flagged]


def silent_spans(samples: np.ndarray, sample_rate: int, timings: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (start, end) in seconds: is that stretch of ``samples`` empty or silence?"""
    out: list[bool] = []
    for start, end in timings:
        a, b = max(0, round(start * sample_rate)), min(samples.size, round(end * sample_rate))
        if b <= a:
            out.append(True)
            continue
        piece = samples[a:b].astype(np.float64)
        out.append(float(np.sqrt(np.mean(piece * piece))) < SILENCE_RMS)
    return out


def layout_takes(takes: Sequence[np.ndarray], sample_rate: int,
                 gap_s: float = TAKE_GAP_S) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Separately spoken sentences laid end to end with silence between, and each one's span in seconds."""
    gap = np.zeros(round(gap_s * sample_rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    timings: list[tuple[float, float]] = []
    cursor = 0
    for index, take in enumerate(takes):
        audio = np.asarray(take, dtype=np.float32).reshape(-1)
        if index:
            parts.append(gap)
            cursor += gap.size
        parts.append(audio)
        timings.append((cursor / sample_rate, (cursor + audio.size) / sample_rate))
        cursor += audio.size
    parts.append(gap)
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)), timings


def with_context(flagged: Sequence[int]) -> list[list[int]]:
    """Runs of consecutive flagged sentence indices, each preceded by the sentence before it (if any)."""
    groups: list[list[int]] = []
    for index in sorted(set(flagged)):
        if groups and groups[-1][-1] == index - 1:
            groups[-1].append(index)
        else:
            groups.append([index - 1, index] if index > 0 else [index])
    return groups


def relisten_layout(audio: np.ndarray, sample_rate: int, timings: Sequence[tuple[float, float]],
                    flagged: Sequence[int]) -> tuple[np.ndarray, list[int], list[tuple[float, float]]]:
    """The audio for a second listen: each run of flagged sentences cut out with the sentence before it,
    the cuts set apart by silence; returns it with the sentence indices it holds and their spans in it."""
    gap = np.zeros(round(TAKE_GAP_S * sample_rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    order: list[int] = []
    spans: list[tuple[float, float]] = []
    cursor = 0
    for group in with_context(flagged):
        start = timings[group[0]][0]
        first, last = round(start * sample_rate), round(timings[group[-1]][1] * sample_rate)
        if parts:
            parts.append(gap)
            cursor += gap.size
        parts.append(audio[first:last])
        offset = cursor / sample_rate - start
        for k in group:
            order.append(k)
            spans.append((timings[k][0] + offset, timings[k][1] + offset))
        cursor += max(0, last - first)
    parts.append(gap)
    return np.concatenate(parts), order, spans


class Verifier:
    """Hears units with one recogniser and judges them with one set of thresholds.

    ``spoken_forms`` (the lexicon: written → spoken) apply to every unit; ``second_listen``
    hears flagged sentences once more before they count as flagged; ``hearing`` chooses how
    a unit is heard first (:data:`Hearing`); ``by_sound`` passes a sentence heard as other
    words that sound the same (:mod:`.phonetic`). One verifier may serve several engine replicas:
    recognition calls then take turns.
    """

    def __init__(
        self,
        recognizer: Optional[SpeechRecognizer],
        limits: Thresholds = DEFAULT_THRESHOLDS,
        *,
        spoken_forms: Optional[Mapping[str, str]] = None,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        second_listen: bool = True,
        hearing: Hearing = "windows",
        by_sound: bool = True,
    ) -> None:
        if hearing not in ("windows", "timestamps"):
            raise ValueError(f"hearing must be windows or timestamps, got {hearing!r}")
        self.recognizer = recognizer
        self.hearing = hearing
        self.by_sound = by_sound
        self._phonemes = Phonemes()
        self.second_listen = second_listen
        self.limits = limits
        self.tolerance_s = tolerance_s
        self._spoken_forms = dict(spoken_forms or {})
        self._normalizers: dict[tuple[str, tuple[tuple[str, str], ...]], TextNormalizer] = {}
        self._lock = threading.Lock()
        self._failure: Optional[str] = None

    def availability(self) -> Availability:
        """Whether units can be verified here, and why not."""
        if self.recognizer is None:
            return Availability(False, "no speech recogniser configured")
        if self._failure is not None:
            return Availability(False, self._failure)
        if self.recognizer.loaded:
            return Availability(True, f"whisper on {self.recognizer.device}, languages: "
                                      + ", ".join(self.recognizer.languages[:5])
                                      + (" ..." if len(self.recognizer.languages) > 5 else ""))
        return asr_availability(self.recognizer.requested_model)

    def load(self) -> Availability:
        """Load the recogniser now (at worker start), so the first unit does not pay for it."""
        if self.recognizer is None:
            return self.availability()
        try:
            self.recognizer.load()
        except RecognizerUnavailable as exc:
            self._failure = str(exc)
        return self.availability()

    def _normalizer(self, language: str, spoken_forms: Optional[Mapping[str, str]]) -> TextNormalizer:
        forms = dict(self._spoken_forms)
        forms.update(spoken_forms or {})
        key = (language, tuple(sorted(forms.items())))
        with self._lock:
            found = self._normalizers.get(key)
            if found is None:
                if len(self._normalizers) > 32:
                    self._normalizers.clear()
                found = self._normalizers[key] = TextNormalizer(language, forms)
        return found

    def _cannot(self, sentences: Sequence[str], reason: str, audio_seconds: float = 0.0) -> UnitCheck:
        return UnitCheck([unverified(reason, len(s.split())) for s in sentences], audio_seconds, 0.0, "", reason)

    def check_unit(
        self,
        samples: np.ndarray,
        sample_rate: int,
        sentences: Sequence[str],
        timings: Sequence[tuple[float, float]],
        language: Optional[str],
        spoken_forms: Optional[Mapping[str, str]] = None,
        seconds_per_char: Optional[float] = None,
    ) -> UnitCheck:
        """Hear ``samples`` (the whole unit) once and judge each sentence at its (start, end) in seconds.

        ``language`` is the unit's language tag; None or one the model does not know gives
        *unverified* verdicts. ``spoken_forms`` (written → spoken) add to the verifier's own.
        ``seconds_per_char`` is the voice's pace (a unit's ``UnitCheck.seconds_per_char``) for
        audio too short to measure its own, such as a few retakes.
        """
        if len(timings) != len(sentences):
            raise ValueError(f"{len(sentences)} sentences but {len(timings)} timings")
        audio = np.asarray(samples, dtype=np.float32).reshape(-1)
        seconds = audio.size / sample_rate if sample_rate else 0.0
        if self.recognizer is None:
            return self._cannot(sentences, "no speech recogniser configured", seconds)
        if self._failure is None and not self.recognizer.loaded:
            self.load()
        if self._failure is not None:
            return self._cannot(sentences, self._failure, seconds)
        if not language:
            return self._cannot(sentences, "the unit's language is not known", seconds)
        if not self.recognizer.can_check(language):
            return self._cannot(sentences, f"the speech recogniser does not know language {language!r} "
                                           f"(it knows {', '.join(self.recognizer.languages[:5])})", seconds)
        normalizer = self._normalizer(language, spoken_forms)
        silent = silent_spans(audio, sample_rate, timings)
        try:
            if self.hearing == "windows":
                windows = plan_windows(audio, sample_rate, timings)
                hearing = self.recognizer.hear_windows(audio, sample_rate, windows, language)
                verdicts = judge_windows(windows, hearing.texts, sentences, timings, normalizer=normalizer,
                                         limits=self.limits, silent=silent)
                heard_text, asr_seconds, heard_seconds = hearing.text, hearing.asr_seconds, hearing.audio_seconds
            else:
                transcript = self.recognizer.transcribe(audio, sample_rate, language)
                verdicts = judge_unit(transcript.words, sentences, timings, normalizer=normalizer,
                                      limits=self.limits, silent=silent, tolerance_s=self.tolerance_s)
                heard_text = transcript.text
                asr_seconds, heard_seconds = transcript.asr_seconds, transcript.audio_seconds
            again = [i for i, v in enumerate(verdicts) if v.flagged and not silent[i]] if self.second_listen else []
            if again:
                second, more_asr, more_audio = self._listen_again(audio, sample_rate, sentences, timings, again,
                                                                  language, normalizer)
                asr_seconds += more_asr
                heard_seconds += more_audio
                for i, verdict in second.items():
                    if verdict.passed:
                        verdicts[i] = verdict
            if self.by_sound:
                verdicts = [rescue(v, text, language, self._phonemes, self.limits)
                            for v, text in zip(verdicts, sentences)]
        except Exception as exc:  # recognition must never fail the unit itself
            _LOG.warning("speech recognition failed: %s", exc)
            return self._cannot(sentences, f"speech recognition failed: {type(exc).__name__}: {exc}", seconds)
        words = [normalizer.words(s) for s in sentences]
        chars = [spoken_chars(w) for w in words]
        lengths = [speech_length(s, w) for s, w in zip(sentences, words)]
        measured = unit_pace(chars, lengths, timings, verdicts, self.limits)
        pace = measured if measured is not None else seconds_per_char
        verdicts = flag_overlong(verdicts, chars, lengths, timings, pace, self.limits)
        return UnitCheck(verdicts, heard_seconds, asr_seconds, heard_text, relistened=len(again),
                         seconds_per_char=pace)

    def _listen_again(self, audio: np.ndarray, sample_rate: int, sentences: Sequence[str],
                      timings: Sequence[tuple[float, float]], flagged: Sequence[int], language: str,
                      normalizer: TextNormalizer) -> tuple[dict[int, Verdict], float, float]:
        """Hear flagged sentences once more, each after the sentence before it and apart from the rest.

        In a unit the recogniser now and then runs a short sentence into the next one
        ("Go! Nobody..." heard as "Oh, nobody..."); quite alone, a lone word is misheard
        as often ("So."). Heard after its own preceding sentence and followed by silence,
        the same audio is heard as it is. No text is given as a hint: a hint makes the
        recogniser write words that were never spoken.
        """
        laid, order, spans = relisten_layout(audio, sample_rate, timings, flagged)
        transcript = self.recognizer.transcribe(laid, sample_rate, language,  # type: ignore[union-attr]
                                                careful=True)
        verdicts = judge_unit(transcript.words, [sentences[k] for k in order], spans, normalizer=normalizer,
                              limits=self.limits, silent=silent_spans(laid, sample_rate, spans),
                              tolerance_s=self.tolerance_s)
        wanted = set(flagged)
        return ({k: v for k, v in zip(order, verdicts) if k in wanted}, transcript.asr_seconds,
                transcript.audio_seconds)

    def check_takes(
        self,
        takes: Sequence[np.ndarray],
        sample_rate: int,
        sentences: Sequence[str],
        language: Optional[str],
        spoken_forms: Optional[Mapping[str, str]] = None,
        seconds_per_char: Optional[float] = None,
    ) -> UnitCheck:
        """Judge separately spoken sentences (retakes) in one hearing, laid out with short gaps."""
        if len(takes) != len(sentences):
            raise ValueError(f"{len(sentences)} sentences but {len(takes)} takes")
        audio, timings = layout_takes(takes, sample_rate)
        return self.check_unit(audio, sample_rate, sentences, timings, language, spoken_forms, seconds_per_char)
