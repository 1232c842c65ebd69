"""Counting an encoded part's packets exactly, using ffmpeg as the parser.

``ffmpeg -c copy -f framecrc`` lists every packet with its timestamps and
duration without decoding anything, for any container, so no ffprobe and no
hand-written bitstream parsing are needed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from tui.assembly.errors import AssemblyError
from tui.assembly.ffmpeg import run_ffmpeg

__all__ = ["PacketList", "list_packets", "parse_framecrc"]


@dataclass(frozen=True)
class PacketList:
    count: int
    frame: int  # nominal samples per packet (the decoder outputs this many for each)
    lead: int  # samples by which the first packet's timestamp lies before zero


def list_packets(ffmpeg: str, path: Path, rate: int) -> PacketList:
    out = run_ffmpeg(
        ffmpeg,
        # -copyts: the demuxer's own timestamps, which the concat demuxer's outpoint compares against
        ["-copyts", "-i", str(path), "-map", "0:a:0", "-c", "copy", "-avoid_negative_ts", "disabled",
         "-f", "framecrc", "pipe:1"],
        what=f"listing the packets of {Path(path).name}",
        stdout=True,
    )
    return parse_framecrc(out.decode("utf-8", "replace"), rate, name=Path(path).name)


def parse_framecrc(text: str, rate: int, *, name: str = "audio") -> PacketList:
    """Packets of stream 0 from framecrc output, in samples at ``rate``."""
    time_base = None
    rows: list[tuple[int, int]] = []
    for line in text.splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            if len(fields) >= 4 and fields[0] == "0":
                rows.append((int(fields[2]), int(fields[3])))
    if time_base is None or not rows:
        raise AssemblyError(f"encoded chapter {name} holds no audio packets")

    def samples(ticks: int) -> int:
        return round(ticks * time_base * rate)

    frame = Counter(samples(d) for _, d in rows).most_common(1)[0][0]
    if frame <= 0:
        raise AssemblyError(f"encoded chapter {name} has packets without a duration")
    return PacketList(count=len(rows), frame=frame, lead=-samples(rows[0][0]))
