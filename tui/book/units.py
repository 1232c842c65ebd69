"""Work units: runs of whole sentences inside one chapter, sized for the scheduler.

Each paragraph goes through the lexicon, then number normalisation, then the
sentence splitter; sentences are packed into units of about ``target_chars``
(ending early at a paragraph end when the unit is nearly full, so pauses fall
where the book has them). A unit never spans two chapters, and the chapter
title is spoken as the first sentence of the chapter's first unit.
"""

from __future__ import annotations

import hashlib
import json
from typing import Optional

from .lexicon import Lexicon
from .model import Book, Chapter, WorkUnit
from .normalize import normalize_text
from .sentences import split_sentences

__all__ = ["CHARS_PER_SECOND", "chapter_sentences", "make_units", "units_target_for", "unit_content_hash"]

#: Speaking rate used to estimate audio length (Piper's default voice, measured).
CHARS_PER_SECOND = 15.0
_EARLY_BREAK = 0.7  # end a unit at a paragraph end once it is this full
_TAIL_MERGE = 0.25  # a chapter's last unit smaller than this joins the one before


def _prepare(text: str, language: str, lexicon: Optional[Lexicon]) -> str:
    if lexicon is not None:
        text = lexicon.apply(text)
    return normalize_text(text, language)


def chapter_sentences(
    chapter: Chapter, *, language: str, max_sentence_chars: int, lexicon: Optional[Lexicon] = None
) -> list[tuple[str, bool]]:
    """``(sentence, starts_paragraph)`` for the chapter's title and then each paragraph."""
    out: list[tuple[str, bool]] = []
    title = _prepare(chapter.title, language, lexicon)
    title_sentences = split_sentences(title, language, max_sentence_chars)
    if title_sentences and title_sentences[-1][-1:].isalnum():
        last = title_sentences[-1]
        if len(last) < max_sentence_chars:
            title_sentences[-1] = last + "."  # a title is read as a statement, with its pause
    out.extend((s, i == 0) for i, s in enumerate(title_sentences))
    for paragraph in chapter.paragraphs:
        sentences = split_sentences(_prepare(paragraph, language, lexicon), language, max_sentence_chars)
        out.extend((s, i == 0) for i, s in enumerate(sentences))
    return out


def unit_content_hash(engine_key: str, sentences: tuple[str, ...], paragraph_starts: tuple[int, ...]) -> str:
    """Covers the spoken text, where paragraphs begin, and the engine/voice settings."""
    payload = json.dumps([engine_key, list(sentences), list(paragraph_starts)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _unit(chapter_index: int, index: int, items: list[tuple[str, bool]], engine_key: str) -> WorkUnit:
    sentences = tuple(s for s, _ in items)
    starts = tuple(i for i, (_, start) in enumerate(items) if start)
    chars = sum(len(s) for s in sentences) + max(0, len(sentences) - 1)
    return WorkUnit(
        id=f"c{chapter_index:04d}-u{index:04d}",
        chapter_index=chapter_index,
        index=index,
        sentences=sentences,
        paragraph_starts=starts,
        content_hash=unit_content_hash(engine_key, sentences, starts),
        chars=chars,
        est_seconds=round(chars / CHARS_PER_SECOND, 3),
    )


def _pack(items: list[tuple[str, bool]], target: int) -> list[list[tuple[str, bool]]]:
    groups: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    size = 0
    for sentence, start in items:
        added = len(sentence) + (1 if current else 0)
        if current and (size + added > target or (start and size >= _EARLY_BREAK * target)):
            groups.append(current)
            current, size, added = [], 0, len(sentence)
        current.append((sentence, start))
        size += added
    if current:
        groups.append(current)
    if len(groups) >= 2:
        last = sum(len(s) + 1 for s, _ in groups[-1])
        before = sum(len(s) + 1 for s, _ in groups[-2])
        if last < _TAIL_MERGE * target and last + before <= target * (1 + _TAIL_MERGE):
            groups[-2].extend(groups.pop())
    return groups


def make_units(
    book: Book,
    *,
    engine_key: str,
    max_sentence_chars: int = 400,
    target_chars: int = 1500,
    lexicon: Optional[Lexicon] = None,
) -> list[WorkUnit]:
    """All units of the book in reading order; ids are ``c{chapter:04d}-u{unit:04d}``."""
    target = max(1, int(target_chars))
    units: list[WorkUnit] = []
    for chapter in book.chapters:
        items = chapter_sentences(
            chapter, language=book.meta.language, max_sentence_chars=max_sentence_chars, lexicon=lexicon
        )
        for index, group in enumerate(_pack(items, target)):
            units.append(_unit(chapter.index, index, group, engine_key))
    return units


def units_target_for(total_chars: int, workers: int, *, base: int = 1500, min_chars: int = 200,
                     per_worker: int = 32) -> int:
    """Unit size so that there are about ``per_worker`` units per worker, within [min_chars, base].

    Fine units are what balance the load: with about 32 per worker the last
    units are small enough that every worker finishes within ~2 % of the
    others (see bench/scheduler_sim.py); below ~200 characters the fixed cost
    of a request starts to show.
    """
    workers = max(1, int(workers))
    per_unit = int(total_chars) // (per_worker * workers)
    return max(min_chars, min(base, per_unit))
