"""The book cut into keyed work units: what is synthesised, and the journal key of each unit's audio."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ..book.ingest import load_book
from ..hashing import file_sha256
from ..book.lexicon import Lexicon
from ..book.model import Book, BookError, WorkUnit
from ..book.selection import parse_chapter_selection, select_chapters
from ..book.units import DEFAULT_SPEED, SizeProfile, make_units, size_profile
from remote_worker.protocol import TTSConfig

from . import events as ev
from .client import SynthesisSettings
from .options import RunOptions

__all__ = ["book_loaded", "synthesis_settings", "UnitPlan", "RequestCosts", "prepare_book", "engine_key", "plan_units", "request_costs",
           "resumed_profile", "ENGINE_COSTS", "VERIFY_COSTS"]

#: Per engine: (engine seconds per request, audio seconds per wall second of one worker) when
#: nothing was measured. Piper's fixed cost per request is a few ms (its units stay as they were);
#: XTTS conditions on the reference voice and warms up per request, and speaks a few x real time.
ENGINE_COSTS: dict[str, tuple[float, float]] = {"piper": (0.0, DEFAULT_SPEED), "xtts": (0.5, 3.0)}

#: What hearing each unit back adds (``--verify``): (seconds per request, factor on a worker's speed).
#: Whisper pads every input to a 30 s window, so a unit pays for a whole window however short it is:
#: tiny.en on one CPU thread took ~0.9 s per call plus ~0.05 s per audio second. Counted as a per-request
#: cost, it makes verified units larger (fewer windows) where the book and the fleet allow.
VERIFY_COSTS: tuple[float, float] = (1.0, 0.6)


@dataclass(frozen=True)
class RequestCosts:
    """What one request to a worker costs: ``latency_s`` round trip, ``overhead_s`` engine time,
    and ``speed`` a worker's audio seconds per wall second."""

    latency_s: float = 0.0
    overhead_s: float = 0.0
    speed: float = DEFAULT_SPEED


def request_costs(options: RunOptions, round_trips_s: Sequence[float] = ()) -> RequestCosts:
    """The request costs to size units by: the options where set; else the latency as the median
    of the measured ``round_trips_s`` (e.g. each worker's health probe, in seconds) and the
    engine's default overhead and speed (:data:`ENGINE_COSTS`, with :data:`VERIFY_COSTS` when verifying)."""
    overhead, speed = ENGINE_COSTS.get(options.engine, ENGINE_COSTS["piper"])
    if options.verifying:
        overhead, speed = overhead + VERIFY_COSTS[0], speed * VERIFY_COSTS[1]
    latency = 0.0
    trips = sorted(t for t in round_trips_s if t is not None and t >= 0)
    if trips:
        latency = trips[len(trips) // 2]
    if options.request_latency_s is not None:
        latency = options.request_latency_s
    if options.request_overhead_s is not None:
        overhead = options.request_overhead_s
    if options.worker_speed is not None and options.worker_speed > 0:
        speed = options.worker_speed
    return RequestCosts(max(0.0, latency), max(0.0, overhead), speed)


def resumed_profile(settings: Mapping[str, Any], options: RunOptions) -> Optional[SizeProfile]:
    """The unit-size profile an earlier run into the same output recorded in its journal settings
    (``unit_profile``; a journal of a flat size has only ``unit_chars``), or None when there is
    none or the engine settings differ (its audio would not be reused anyway)."""
    if settings.get("engine_key") != engine_key(options):
        return None
    profile = SizeProfile.from_json(settings.get("unit_profile"))
    if profile is None:
        value = settings.get("unit_chars")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            profile = SizeProfile.flat(value)
    return profile


def prepare_book(options: RunOptions) -> Book:
    """Load and select chapters; raises BookError with a one-line message."""
    book = load_book(options.input, include_all=options.include_all)
    if options.chapters:
        book = select_chapters(book, parse_chapter_selection(options.chapters, len(book.chapters)))
    if not book.chapters:
        raise BookError(f"{options.input.name}: no chapters left to read")
    return book


def engine_key(options: RunOptions) -> str:
    """Everything about the voice that changes the audio of the same text.

    Settings added later appear only when set, so journals of earlier runs keep their keys.
    """
    key: dict = {"engine": options.engine, "voice": options.voice or "", "length_scale": options.length_scale}
    if options.voice_sample is not None:
        key["voice_sample"] = file_sha256(Path(options.voice_sample))
    if options.speaker:
        key["speaker"] = options.speaker
    if options.language:
        key["language"] = options.language
    return json.dumps(key, sort_keys=True)


def _audio_key(unit: WorkUnit, trailing_gap_ms: int, options: RunOptions) -> str:
    """Journal key: the unit's content hash plus everything else that shapes its audio."""
    extra = f"{unit.content_hash}|{options.sentence_gap_ms}|{options.paragraph_gap_ms}|{trailing_gap_ms}|flac"
    if options.verifying:  # verified audio is kept apart (earlier journals keep their keys)
        extra += f"|verified:{options.verify_takes}"
    return hashlib.sha256(extra.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class UnitPlan:
    """The units in book order, by id, with the silence each one ends with."""

    units: list[WorkUnit]
    trailing_gap_ms: dict[str, int]
    target_chars: int  # the largest target (the only one when the profile is flat)
    profile: Optional[SizeProfile] = None

    def sizing_settings(self) -> dict[str, Any]:
        """What the journal settings must hold for a resumed run to cut the same units."""
        out: dict[str, Any] = {"unit_chars": self.target_chars}
        if self.profile is not None and not self.profile.is_flat:
            out["unit_profile"] = self.profile.to_json()
        return out

    @property
    def by_id(self) -> dict[str, WorkUnit]:
        return {u.id: u for u in self.units}

    def chapter_units(self) -> dict[int, list[WorkUnit]]:
        out: dict[int, list[WorkUnit]] = {}
        for unit in self.units:
            out.setdefault(unit.chapter_index, []).append(unit)
        return out


def plan_units(book: Book, options: RunOptions, *, workers: int, lexicon: Optional[Lexicon],
               resumed_chars: Optional[int] = None, resumed: Optional[SizeProfile] = None,
               costs: Optional[RequestCosts] = None) -> UnitPlan:
    """Cut ``book`` into units sized for ``workers`` and the per-request ``costs`` (default:
    :func:`request_costs` of ``options``), or as an earlier run into the same output did: its
    profile ``resumed`` (:func:`resumed_profile`) or its flat size ``resumed_chars``.
    ``options.unit_chars`` forces one flat size."""
    if options.unit_chars:
        profile = SizeProfile.flat(options.unit_chars)
    elif resumed is not None:
        profile = resumed
    elif resumed_chars:
        profile = SizeProfile.flat(resumed_chars)
    else:
        costs = costs or request_costs(options)
        total_chars = sum(len(p) for ch in book.chapters for p in ch.paragraphs)
        profile = size_profile(total_chars, max(1, workers), latency_s=costs.latency_s,
                               overhead_s=costs.overhead_s, speed=costs.speed)
    units = make_units(book, engine_key=engine_key(options), max_sentence_chars=options.max_sentence_chars,
                       profile=profile, lexicon=lexicon)
    if not units:
        raise BookError(f"{options.input.name}: nothing to read aloud")
    keyed: list[WorkUnit] = []
    gaps: dict[str, int] = {}
    for i, unit in enumerate(units):
        nxt = units[i + 1] if i + 1 < len(units) else None
        if nxt is None or nxt.chapter_index != unit.chapter_index:
            gap = options.chapter_gap_ms
        elif 0 in nxt.paragraph_starts:
            gap = options.paragraph_gap_ms
        else:
            gap = options.sentence_gap_ms
        keyed.append(dataclasses.replace(unit, content_hash=_audio_key(unit, gap, options)))
        gaps[unit.id] = gap
    return UnitPlan(keyed, gaps, profile.largest, profile)


def book_loaded(book: Book, output: Path) -> ev.BookLoaded:
    """The event that opens a run: the book and what each chapter holds."""
    return ev.BookLoaded(
        book.meta.title, ", ".join(book.meta.authors), str(output),
        tuple(ev.ChapterInfo(ch.index, ch.title, sum(len(p.split()) for p in ch.paragraphs)) for ch in book.chapters),
    )


def synthesis_settings(options: RunOptions, book: Book, plan: "UnitPlan", unit: WorkUnit, *,
                       voice_sha256: Optional[str] = None) -> SynthesisSettings:
    """What a worker is asked for one unit: voice, language, gaps, and verification."""
    return SynthesisSettings(
        tts=TTSConfig(voice_name=options.voice, language=options.language or book.meta.language,
                      model_name=options.engine, length_scale=options.length_scale, speaker_wav=voice_sha256,
                      speaker=options.speaker, **verify_config(options)),
        sentence_gap_ms=options.sentence_gap_ms, paragraph_gap_ms=options.paragraph_gap_ms,
        trailing_gap_ms=plan.trailing_gap_ms.get(unit.id, 0),
    )


def verify_config(options: RunOptions) -> dict[str, Any]:
    """The ``tts_config`` keys that ask a worker to verify (none when the run does not)."""
    return {"verify": True, "verify_takes": options.verify_takes} if options.verifying else {}
