"""What verification said about each sentence, as the orchestrator keeps and reports it.

A worker asked to verify hears every sentence it spoke back through speech
recognition and answers with one check per sentence. The journal keeps the
checks beside the unit's audio (a resumed run reports them without checking
again), events carry them to the state model, and at the end a flagged report
lists every sentence that still failed after all its takes, with its time in
the book.
"""

from __future__ import annotations

import csv
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Optional, Sequence

from . import events as ev

if TYPE_CHECKING:
    from ..book.model import WorkUnit
    from .journal import StoredAudio

__all__ = ["CheckStatus", "SentenceCheck", "FlaggedSentence", "book_time", "count", "flagged_report_path",
           "unit_checked", "flagged_in_book", "place_flagged", "write_flagged_report"]


class CheckStatus(str, enum.Enum):
    PASSED = "passed"  # heard as written
    FLAGGED = "flagged"  # still wrong after every take
    UNVERIFIED = "unverified"  # could not be checked (a language the recogniser cannot hear)

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of a unit: its verdict, how many takes it needed and, when flagged, what was heard."""

    index: int
    status: CheckStatus
    score: float = 1.0
    takes: int = 1
    problem: str = ""
    heard: str = ""

    @classmethod
    def from_wire(cls, data: object) -> "SentenceCheck":
        """From the worker's answer (a pydantic model or a dict)."""
        get = data.get if isinstance(data, dict) else lambda k, d=None: getattr(data, k, d)
        return cls(index=int(get("index")), status=CheckStatus(get("status")), score=float(get("score", 1.0)),
                   takes=int(get("takes", 1) or 1), problem=str(get("problem", "") or ""),
                   heard=str(get("heard", "") or ""))


@dataclass(frozen=True)
class FlaggedSentence:
    """A sentence still wrong after all its takes, placed in the book for the listener."""

    unit_id: str
    chapter_index: int
    chapter_title: str
    sentence_index: int
    book_seconds: float  # where it starts in the finished book
    seconds: float  # how long it lasts
    expected: str
    heard: str
    score: float
    problem: str
    takes: int


def flagged_report_path(output: Path) -> Path:
    """``book.m4b`` → ``book.flagged.tsv`` beside it."""
    return output.with_name(output.stem + ".flagged.tsv")


def write_flagged_report(path: Path, flagged: Sequence[FlaggedSentence]) -> Optional[Path]:
    """Write the report (tab-separated, one sentence a row); remove a stale one when nothing is flagged."""
    if not flagged:
        path.unlink(missing_ok=True)
        return None
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter="\t", lineterminator="\n")
        out.writerow(["chapter", "chapter_title", "book_time", "seconds", "unit", "sentence", "score", "problem",
                      "takes", "expected", "heard"])
        for f in flagged:
            out.writerow([f.chapter_index + 1, f.chapter_title, book_time(f.book_seconds), f"{f.seconds:.2f}",
                          f.unit_id, f.sentence_index + 1, f"{f.score:.2f}", f.problem, f.takes, f.expected,
                          f.heard])
    return path


def book_time(seconds: float) -> str:
    """``h:mm:ss.s`` — how players show a position."""
    minutes, sec = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:04.1f}"


def count(checks: Iterable[SentenceCheck]) -> dict[CheckStatus, int]:
    totals = {status: 0 for status in CheckStatus}
    for check in checks:
        totals[check.status] += 1
    return totals


def unit_checked(unit_id: str, chapter_index: int, stored: "StoredAudio") -> Optional[ev.UnitChecked]:
    """The event for a unit's checks (None when the unit was not verified)."""
    if not stored.checks:
        return None
    totals = count(stored.checks)
    flagged = []
    for check in stored.checks:
        if check.status is CheckStatus.FLAGGED and check.index < len(stored.sentences):
            text, start, end = stored.sentences[check.index]
            flagged.append(ev.FlaggedCheck(check.index, start, end, check.score, check.problem, check.takes, text,
                                           check.heard))
    return ev.UnitChecked(unit_id, chapter_index, totals[CheckStatus.PASSED], totals[CheckStatus.UNVERIFIED],
                          tuple(flagged), sum(c.takes - 1 for c in stored.checks))


def place_flagged(units: Iterable[tuple[str, int, str, float, Sequence["ev.FlaggedCheck"]]]) -> list[FlaggedSentence]:
    """Flagged sentences of units given in book order as (unit id, chapter, chapter title, audio seconds,
    flagged checks), each placed at its time in the book by the audio of the units before it."""
    found: list[FlaggedSentence] = []
    offset = 0.0
    for unit_id, chapter_index, title, seconds, flagged in units:
        for f in flagged:
            found.append(FlaggedSentence(unit_id, chapter_index, title, f.sentence_index, offset + f.start,
                                         f.end - f.start, f.expected, f.heard, f.score, f.problem, f.takes))
        offset += seconds
    return found


def flagged_in_book(units: Sequence["WorkUnit"], audio: Mapping[str, "StoredAudio"],
                    titles: Mapping[int, str]) -> list[FlaggedSentence]:
    """Every flagged sentence of the book's units (in book order), from the journal's stored checks."""
    def placed() -> Iterator[tuple[str, int, str, float, Sequence["ev.FlaggedCheck"]]]:
        for unit in units:
            stored = audio.get(unit.id)
            if stored is not None:
                event = unit_checked(unit.id, unit.chapter_index, stored)
                yield (unit.id, unit.chapter_index, titles.get(unit.chapter_index, ""), stored.duration,
                       event.flagged if event is not None else ())

    return place_flagged(placed())
