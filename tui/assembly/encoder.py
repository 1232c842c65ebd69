"""Encoding a chapter as soon as its units are done, so little work is left at the end.

The orchestrator calls :meth:`ChapterEncoder.encode` from a worker thread for
each finished chapter. Each call streams the units' samples into one encoder
process (no whole-chapter buffer in memory), keeps the exact sample counts,
and lists the packets it produced so the finish step can join the parts by
stream copy with marks placed where the audio really is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
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
from tui.assembly.pcm import PcmInfo, read_unit, unit_info

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

    def part_path(self, index: int, key: str = "") -> Path:
        suffix = f"-{key}" if key else ""
        return self.work_dir / f"chapter-{index:04d}{suffix}{self.spec.part_extension}"

    def _part_key(self, chapter: ChapterAudio, rate: int) -> str:
        """Names a part by what went into it, so segments of one chapter never collide
        and a resumed run finds the parts it already encoded."""
        h = hashlib.sha256(f"{self.fmt}|{self.bitrate}|{rate}".encode())
        for unit in chapter.units:
            st = os.stat(unit.path)
            h.update(f"|{os.path.abspath(unit.path)}|{st.st_size}|{st.st_mtime_ns}".encode())
        return h.hexdigest()[:16]

    def encode(self, chapter: ChapterAudio) -> EncodedChapter:
        """Encode one chapter's units (or a run of them: a segment), in order, into a part file (blocking).

        A part encoded earlier from the same unit files is reused as it is.
        """
        infos = [unit_info(u.path) for u in chapter.units]
        if sum(i.frames for i in infos) == 0:
            return self._empty(chapter)
        rate = self._book_rate(infos[0].rate)
        codec_rate = self.spec.codec_rate or rate
        dest = self.part_path(chapter.index, self._part_key(chapter, rate))
        reused = self._reuse(dest, chapter)
        if reused is not None:
            return reused
        timing = calibrate(self.ffmpeg, self.spec, rate, self.bitrate, self.work_dir)
        cues: list[Cue] = []
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
        sidecar = dest.with_suffix(".json")
        tmp = sidecar.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(encoded.to_dict()), encoding="utf-8")
        os.replace(tmp, sidecar)
        return encoded

    def _reuse(self, dest: Path, chapter: ChapterAudio) -> Optional[EncodedChapter]:
        sidecar = dest.with_suffix(".json")
        if not (dest.is_file() and sidecar.is_file()):
            return None
        try:
            encoded = EncodedChapter.from_dict(json.loads(sidecar.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if encoded.path != dest:
            return None
        return dataclasses.replace(encoded, title=chapter.title, source=chapter)

    def _blocks(
        self, chapter: ChapterAudio, infos: list[PcmInfo], rate: int, cues: list[Cue]
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
