"""Work units: runs of whole sentences inside one chapter, sized for the scheduler.

Each paragraph goes through the lexicon, then number normalisation, then the
sentence splitter; sentences are packed into units of about ``target_chars``
(ending early at a paragraph end when the unit is nearly full, so pauses fall
where the book has them). A unit never spans two chapters, and the chapter
title is spoken as the first sentence of the chapter's first unit.

The target may vary along the book (a :class:`SizeProfile`): where every
request costs real time (a slow link, an engine with a fixed cost per call),
units start large, so that cost is paid rarely, and shrink toward the end, so
the last rounds still finish together. Units are dispatched in book order, so
position in the book stands for time in the run.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Callable, Optional

from .lexicon import Lexicon
from .model import Book, Chapter, WorkUnit
from .normalize import normalize_text
from .sentences import split_sentences

__all__ = ["CHARS_PER_SECOND", "SizeProfile", "chapter_sentences", "make_units", "size_profile", "units_target_for",
           "unit_content_hash"]

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


def _pack(items: list[tuple[str, bool]], target_at: Callable[[int], int],
          offset: int = 0) -> list[list[tuple[str, bool]]]:
    """Greedy runs of sentences; each unit's target is ``target_at`` its first character's book offset."""
    groups: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    size = 0
    target = target_at(offset)
    for sentence, start in items:
        added = len(sentence) + (1 if current else 0)
        if current and (size + added > target or (start and size >= _EARLY_BREAK * target)):
            groups.append(current)
            offset += size
            target = target_at(offset)
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
    profile: Optional["SizeProfile"] = None,
) -> list[WorkUnit]:
    """All units of the book in reading order; ids are ``c{chapter:04d}-u{unit:04d}``.

    ``profile`` (when given, instead of ``target_chars``) sets each unit's target from the
    offset of its first character in the book (the sum of the ``chars`` of the units before it)."""
    if profile is None:
        profile = SizeProfile.flat(target_chars)
    units: list[WorkUnit] = []
    offset = 0
    for chapter in book.chapters:
        items = chapter_sentences(
            chapter, language=book.meta.language, max_sentence_chars=max_sentence_chars, lexicon=lexicon
        )
        for index, group in enumerate(_pack(items, profile.target_at, offset)):
            unit = _unit(chapter.index, index, group, engine_key)
            offset += unit.chars
            units.append(unit)
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


# ------------------------------------------------------------------ size profile

#: Largest unit a profile asks for (~13 min of audio): one request's audio stays around 10 MiB of
#: FLAC, and a unit lost to a failure costs minutes, not an hour.
PROFILE_MAX_CHARS = 12000
#: Default audio seconds one worker speaks per wall second, when nothing better is known.
DEFAULT_SPEED = 10.0
_OVERHEAD_SHARE = 0.01  # the largest units pay at most this share of their time in per-request cost
_TAIL_REQUESTS = 2.0  # the smallest units take at least this many request costs (latency + overhead)
#: a unit is about remaining / (rounds x workers) (guided self-scheduling); measured with
#: bench/scheduler_sim.py: 4 is best up to 16 workers, 6 at 32 and more (smaller shares per worker)
_ROUNDS = 4.0
_ROUNDS_MANY = 6.0
_MANY_WORKERS = 32
_STEP = 0.8  # consecutive targets differ by this factor, so an edit moves few boundaries


@dataclass(frozen=True)
class SizeProfile:
    """Unit targets along the book: ``steps`` are ``(offset, target)`` with offsets rising from 0 and
    targets not rising; a unit whose first character is at ``offset`` or later (and before the next
    step) aims at ``target`` characters. JSON form: ``[[offset, target], ...]``."""

    steps: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.steps or self.steps[0][0] != 0:
            raise ValueError("a size profile starts at offset 0")
        for (o1, t1), (o2, t2) in zip(self.steps, self.steps[1:]):
            if o2 <= o1 or t2 > t1:
                raise ValueError("size profile offsets must rise and targets must not")
        if any(t < 1 for _, t in self.steps):
            raise ValueError("size profile targets must be positive")

    @classmethod
    def flat(cls, target: int) -> "SizeProfile":
        return cls(((0, max(1, int(target))),))

    @property
    def is_flat(self) -> bool:
        return len(self.steps) == 1

    @property
    def largest(self) -> int:
        return self.steps[0][1]

    def target_at(self, offset: int) -> int:
        i = bisect.bisect_right(self._offsets, offset) - 1
        return self.steps[max(0, i)][1]

    @property
    def _offsets(self) -> list[int]:
        return [o for o, _ in self.steps]

    def to_json(self) -> list[list[int]]:
        return [[o, t] for o, t in self.steps]

    @classmethod
    def from_json(cls, value: object) -> Optional["SizeProfile"]:
        """The profile recorded by :meth:`to_json`, or None for anything else."""
        if not isinstance(value, list) or not value:
            return None
        steps = []
        for step in value:
            if (not isinstance(step, (list, tuple)) or len(step) != 2
                    or not all(isinstance(x, int) and not isinstance(x, bool) for x in step)):
                return None
            steps.append((step[0], step[1]))
        try:
            return cls(tuple(steps))
        except ValueError:
            return None


def size_profile(total_chars: int, workers: int, *, latency_s: float = 0.0, overhead_s: float = 0.0,
                 speed: float = DEFAULT_SPEED, base: int = 1500, min_chars: int = 200) -> SizeProfile:
    """Unit targets for a book of ``total_chars`` on ``workers`` workers whose requests each cost
    ``latency_s`` (round trip, hidden while a worker has a second request queued) and ``overhead_s``
    (engine time per request, never hidden); ``speed`` is a worker's expected audio seconds per
    wall second.

    Where those costs are negligible against today's units (:func:`units_target_for`) the profile
    is flat at exactly that target. Otherwise a unit is about ``remaining / (4 x workers)``
    characters (6 x from 32 workers; guided self-scheduling), quantised to steps of x0.8, between
    a floor that keeps each request worth at least two request costs (so the two-deep queue never
    drains) and a ceiling where the per-request overhead is at most 1 % of the unit's time (at most
    :data:`PROFILE_MAX_CHARS`). A pure function of its
    arguments: the same inputs give the same profile.
    """
    total = max(0, int(total_chars))
    workers = max(1, int(workers))
    flat = units_target_for(total, workers, base=base, min_chars=min_chars)
    latency_s, overhead_s = max(0.0, float(latency_s)), max(0.0, float(overhead_s))
    chars_per_s = max(1e-6, float(speed)) * CHARS_PER_SECOND  # characters a worker speaks per second
    flat_s = flat / chars_per_s
    if overhead_s <= 0.01 * flat_s and latency_s <= 0.5 * flat_s:
        return SizeProfile.flat(flat)
    hi = min(PROFILE_MAX_CHARS, max(base, math.ceil(overhead_s * chars_per_s / _OVERHEAD_SHARE)))
    lo = min(hi, max(min_chars, math.ceil(_TAIL_REQUESTS * (latency_s + overhead_s) * chars_per_s)))
    spread = (_ROUNDS_MANY if workers >= _MANY_WORKERS else _ROUNDS) * workers  # book left per unit char
    levels = [hi]
    while levels[-1] > lo:
        levels.append(max(lo, int(levels[-1] * _STEP)))
    steps: list[tuple[int, int]] = []
    for i, level in enumerate(levels):
        # level i applies once remaining / spread drops below level i-1
        start = 0 if i == 0 else max(0, math.ceil(total - levels[i - 1] * spread))
        if steps and start <= steps[-1][0]:
            steps[-1] = (steps[-1][0], level)
        else:
            steps.append((start, level))
    return SizeProfile(tuple(steps))
