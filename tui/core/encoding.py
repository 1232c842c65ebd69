"""Chapters encoded in segments while the run goes on, so little is left to do after the last unit.

Each run of consecutive finished units of a chapter is encoded once it holds
enough audio (or ends the chapter). Segments are long early in a run (few
ffmpeg runs) and short near its end (little left to encode after the last unit).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Callable, Mapping

from ..assembly.encoder import ChapterEncoder
from ..assembly.model import ChapterAudio, UnitAudio
from ..book.model import WorkUnit
from . import events as ev
from .journal import StoredAudio

__all__ = ["SegmentPipeline"]


class SegmentPipeline:
    """Submits segments to one encoding thread; :meth:`encoded` waits for all of them, in book order."""

    def __init__(self, encoder: ChapterEncoder, executor: Executor, chapter_units: Mapping[int, list[WorkUnit]],
                 titles: Mapping[int, str], audio: Mapping[str, StoredAudio], *, seconds_max: float,
                 seconds_min: float, publish: Callable[[ev.Event], None]) -> None:
        self._encoder = encoder
        self._executor = executor
        self._chapter_units = chapter_units
        self._titles = titles
        self._audio = audio
        self._seconds_max = seconds_max
        self._seconds_min = seconds_min
        self._publish = publish
        self._segments: dict[int, list[asyncio.Future]] = {}
        self._next: dict[int, int] = {}  # chapter index → position of its first unencoded unit

    def _submit(self, chapter_index: int, units: list[WorkUnit]) -> None:
        audio = ChapterAudio(chapter_index, self._titles[chapter_index],
                             [UnitAudio(self._audio[u.id].path, list(self._audio[u.id].sentences)) for u in units])
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._encoder.encode, audio)
        future.add_done_callback(self._segment_done)
        self._segments.setdefault(chapter_index, []).append(future)
        self._report()

    def _report(self) -> None:
        futures = [f for chapter in self._segments.values() for f in chapter]
        done = sum(1 for f in futures if f.done() and not f.cancelled())
        self._publish(ev.AssemblyProgress(done, len(futures)))

    def _segment_done(self, future: asyncio.Future) -> None:
        if not future.cancelled():
            self._report()

    def advance(self, chapter_index: int, seconds_left: float) -> None:
        """Encode the chapter's ready runs; ``seconds_left`` is the estimated audio still to synthesise."""
        units = self._chapter_units.get(chapter_index, [])
        start = self._next.get(chapter_index, 0)
        target = min(self._seconds_max, max(self._seconds_min, seconds_left / 3))
        seconds = 0.0
        i = start
        while i < len(units) and units[i].id in self._audio:
            seconds += self._audio[units[i].id].duration
            i += 1
            if seconds >= target or i == len(units):
                self._submit(chapter_index, units[start:i])
                start, seconds = i, 0.0
        self._next[chapter_index] = start

    def reset(self, chapter_index: int) -> None:
        """Forget the chapter's segments (its units are being redone)."""
        for future in self._segments.pop(chapter_index, []):
            future.cancel()
        self._next.pop(chapter_index, None)
        self._report()

    def flush(self) -> None:
        """Submit what is left of partial chapters: their runs of finished units."""
        for chapter_index, units in self._chapter_units.items():
            run: list[WorkUnit] = []
            for unit in units[self._next.get(chapter_index, 0):]:
                if unit.id in self._audio:
                    run.append(unit)
                elif run:
                    self._submit(chapter_index, run)
                    run = []
            if run:
                self._submit(chapter_index, run)
            self._next[chapter_index] = len(units)

    async def encoded(self, chapter_order: list[int]) -> list:
        """Every encoded segment in book order (raises the encoder's AssemblyError)."""
        out = []
        for chapter_index in chapter_order:
            for future in self._segments.get(chapter_index, []):
                out.append(await future)
        return out
