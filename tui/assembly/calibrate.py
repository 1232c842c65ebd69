"""Measuring, once per encoder setting, where joined chapter content really lands.

Encoder priming, what the final container hides of it (an MP4 edit list, the
Ogg Opus pre-skip, an MP3 LAME tag) and what the decoder adds at a join all
differ between codecs and ffmpeg builds. Rather than trusting a table of
constants, two short chapters with a noise burst at known positions are
encoded and joined exactly as a book would be, decoded, and the bursts found by
cross-correlation. The result (in samples at the codec's rate) feeds the join
plan; it is cached per ffmpeg, format, rate and bit rate.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui.assembly.errors import AssemblyError
from tui.assembly.ffmpeg import run_ffmpeg
from tui.assembly.formats import FormatSpec
from tui.assembly.joiner import JoinPiece, join_to_file
from tui.assembly.packets import list_packets
from tui.assembly.parts import encode_part

__all__ = ["Calibration", "calibrate"]


@dataclass(frozen=True)
class Calibration:
    content_offset: int  # where a file's first chapter content starts in its decoded output
    join_gap: int  # samples a decoder adds at each join beyond the kept packets


_cache: dict[tuple[str, str, int, str], Calibration] = {}
_lock = threading.Lock()


def calibrate(ffmpeg: str, spec: FormatSpec, rate: int, bitrate: str, work_dir: Path) -> Calibration:
    if spec.lossless:
        return Calibration(0, 0)
    key = (ffmpeg, spec.name, rate, bitrate)
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = _measure(ffmpeg, spec, rate, bitrate, Path(work_dir))
            _cache[key] = found
        return found


def _burst(rate: int) -> np.ndarray:
    length = max(256, rate // 20)
    noise = np.random.default_rng(20240611).uniform(-1.0, 1.0, length)
    return (0.6 * noise * np.hanning(length)).astype(np.float32)


def _locate(decoded: np.ndarray, burst: np.ndarray, lo: int, hi: int) -> int:
    lo, hi = max(0, lo), min(len(decoded), hi + len(burst))
    window = decoded[lo:hi]
    if len(window) < len(burst):
        raise AssemblyError("cannot measure the encoder's timing: decoded audio is too short")
    return lo + int(np.argmax(np.correlate(window, burst, mode="valid")))


def _measure(ffmpeg: str, spec: FormatSpec, rate: int, bitrate: str, work_dir: Path) -> Calibration:
    codec_rate = spec.codec_rate or rate
    burst = _burst(rate)
    # odd lengths so both parts end mid-packet, as real chapters do
    lengths = (rate // 2 + 37, rate // 3 + 11)
    positions = (rate // 5, rate // 8)
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".calibrate-", dir=work_dir) as tmp_name:
        tmp = Path(tmp_name)
        pieces = []
        for i, (length, pos) in enumerate(zip(lengths, positions)):
            signal = np.zeros(length, dtype=np.float32)
            signal[pos : pos + len(burst)] = burst
            part = tmp / f"probe{i}{spec.part_extension}"
            encode_part(ffmpeg, spec, rate, bitrate, [signal], part, what="measuring the encoder's timing")
            packets = list_packets(ffmpeg, part, codec_rate)
            pieces.append(JoinPiece(part, packets.count, packets.lead, packets.frame, packets.count * packets.frame))
        joined = join_to_file(
            ffmpeg, spec, pieces, codec_rate, tmp / f"joined{spec.extension}", what="measuring the encoder's timing"
        )
        raw = run_ffmpeg(
            ffmpeg,
            ["-i", str(joined), "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"],
            what="measuring the encoder's timing",
            stdout=True,
        )
    decoded = np.frombuffer(raw, dtype="<f4")
    slack = rate // 10
    first = _locate(decoded, burst, positions[0] - slack, positions[0] + slack) - positions[0]
    offset = round(first * codec_rate / rate)
    second_expected = (pieces[0].span + offset) * rate / codec_rate + positions[1]
    second = _locate(decoded, burst, round(second_expected) - slack, round(second_expected) + slack)
    gap = round((second - second_expected) * codec_rate / rate)
    return Calibration(content_offset=offset, join_gap=gap)
