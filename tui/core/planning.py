"""The book cut into keyed work units: what is synthesised, and the journal key of each unit's audio."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..book.ingest import load_book
from ..hashing import file_sha256
from ..book.lexicon import Lexicon
from ..book.model import Book, BookError, WorkUnit
from ..book.selection import parse_chapter_selection, select_chapters
from ..book.units import make_units, units_target_for
from .options import RunOptions

__all__ = ["UnitPlan", "prepare_book", "engine_key", "plan_units"]


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
    return hashlib.sha256(extra.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class UnitPlan:
    """The units in book order, by id, with the silence each one ends with."""

    units: list[WorkUnit]
    trailing_gap_ms: dict[str, int]
    target_chars: int

    @property
    def by_id(self) -> dict[str, WorkUnit]:
        return {u.id: u for u in self.units}

    def chapter_units(self) -> dict[int, list[WorkUnit]]:
        out: dict[int, list[WorkUnit]] = {}
        for unit in self.units:
            out.setdefault(unit.chapter_index, []).append(unit)
        return out


def plan_units(book: Book, options: RunOptions, *, workers: int, lexicon: Optional[Lexicon],
               resumed_chars: Optional[int] = None) -> UnitPlan:
    """Cut ``book`` into units sized for ``workers`` (or as an earlier run into the same output did)."""
    total_chars = sum(len(p) for ch in book.chapters for p in ch.paragraphs)
    target = options.unit_chars or resumed_chars or units_target_for(total_chars, max(1, workers))
    units = make_units(book, engine_key=engine_key(options), max_sentence_chars=options.max_sentence_chars,
                       target_chars=target, lexicon=lexicon)
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
    return UnitPlan(keyed, gaps, target)
