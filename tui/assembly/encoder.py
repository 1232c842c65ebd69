"""Encoding a chapter as soon as its units are done, so little work is left at the end.

The orchestrator calls :meth:`ChapterEncoder.encode` from a worker thread for
each finished chapter. Each call streams the units' samples into one encoder
process (no whole-chapter buffer in memory), keeps the exact sample counts,
and lists the packets it produced so the finish step can join the parts by
stream copy with marks placed where the audio really is.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from tui.assembly.calibrate import calibrate
from tui.assembly.errors import AssemblyError
from tui.assembly.ffmpeg import find_ffmpeg
from tui.assembly.formats import check_bitrate, get_format
from tui.assembly.model import ChapterAudio, Cue, EncodedChapter
from tui.assembly.packets import list_packets
from tui.assembly.parts import encode_part
from tui.assembly.pcm import UnitInfo, read_unit, unit_info

__all__ = ["ChapterEncoder"]

_MIN_RATE, _MAX_RATE = 8000, 192000


class ChapterEncoder:
    """Encodes chapters one at a time, in any order, from any thread.

    All chapters share one sample rate: ``sample_rate`` when given, else the
    rate of the first unit this encoder sees; units at other rates are resampled.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        fmt: str = "m4b",
        bitrate: str = "64k",
        sample_rate: Optional[int] = None,
    ) -> None:
        self.spec = get_format(fmt)
        self.fmt = self.spec.name
        self.bitrate = check_bitrate(bitrate)
        if sample_rate is not None and not (_MIN_RATE <= int(sample_rate) <= _MAX_RATE):
            raise AssemblyError(f"bad sample rate {sample_rate}: use {_MIN_RATE} to {_MAX_RATE} Hz")
        self.work_dir = Path(work_dir)
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AssemblyError(f"cannot create work folder {self.work_dir}: {exc.strerror or exc}") from None
        self.ffmpeg = find_ffmpeg()
        self._rate: Optional[int] = int(sample_rate) if sample_rate else None
        self._rate_lock = threading.Lock()

    @property
    def sample_rate(self) -> Optional[int]:
        return self._rate

    def _book_rate(self, first_unit_rate: int) -> int:
        with self._rate_lock:
            if self._rate is None:
                self._rate = first_unit_rate
            return self._rate

    def part_path(self, index: int) -> Path:
        return self.work_dir / f"chapter-{index:04d}{self.spec.part_extension}"

    def encode(self, chapter: ChapterAudio) -> EncodedChapter:
        """Encode one chapter's units, in order, into its part file (blocking)."""
        infos = [unit_info(u.path) for u in chapter.units]
        if sum(i.frames for i in infos) == 0:
            return self._empty(chapter)
        rate = self._book_rate(infos[0].rate)
        codec_rate = self.spec.codec_rate or rate
        timing = calibrate(self.ffmpeg, self.spec, rate, self.bitrate, self.work_dir)
        cues: list[Cue] = []
        dest = self.part_path(chapter.index)
        samples = encode_part(
            self.ffmpeg,
            self.spec,
            rate,
            self.bitrate,
            self._blocks(chapter, infos, rate, cues),
            dest,
            what=f"encoding chapter {chapter.index + 1}",
        )
        if samples == 0:
            dest.unlink(missing_ok=True)
            return self._empty(chapter)
        encoded = EncodedChapter(
            index=chapter.index,
            title=chapter.title,
            fmt=self.fmt,
            bitrate=self.bitrate,
            path=dest,
            sample_rate=rate,
            samples=samples,
            codec_rate=codec_rate,
            content_offset=timing.content_offset,
            join_gap=timing.join_gap,
            cues=cues,
            source=chapter,
        )
        if not self.spec.lossless:
            packets = list_packets(self.ffmpeg, dest, codec_rate)
            encoded.packets, encoded.frame_samples, encoded.lead = packets.count, packets.frame, packets.lead
        return encoded

    def _blocks(
        self, chapter: ChapterAudio, infos: list[UnitInfo], rate: int, cues: list[Cue]
    ) -> Iterator[np.ndarray]:
        """Each unit's samples in turn, collecting its sentences' cues on the way."""
        offset = 0
        for unit, info in zip(chapter.units, infos):
            pcm = read_unit(self.ffmpeg, unit.path, info, rate)
            length = len(pcm) / rate
            base = offset / rate
            for text, start, end in unit.sentences:
                s = min(max(0.0, float(start)), length)
                e = min(max(s, float(end)), length)
                cues.append(Cue(str(text), base + s, base + e))
            offset += len(pcm)
            yield pcm

    def _empty(self, chapter: ChapterAudio) -> EncodedChapter:
        return EncodedChapter(
            index=chapter.index,
            title=chapter.title,
            fmt=self.fmt,
            bitrate=self.bitrate,
            path=None,
            sample_rate=self._rate or 0,
            samples=0,
            source=chapter,
        )
