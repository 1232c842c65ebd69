"""Plain data passed between the orchestrator, the chapter encoder and the finish step."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

__all__ = ["UnitAudio", "ChapterAudio", "Cue", "EncodedChapter"]


@dataclass
class UnitAudio:
    """One work unit's audio file (FLAC/WAV) and where its sentences fall in it."""

    path: Path
    # (text, start_s, end_s) relative to this file's start; may be empty
    sentences: list[tuple[str, float, float]] = field(default_factory=list)


@dataclass
class ChapterAudio:
    """A chapter as the orchestrator knows it: its units' audio, in reading order."""

    index: int  # 0-based chapter index
    title: str
    units: list[UnitAudio] = field(default_factory=list)


@dataclass(frozen=True)
class Cue:
    """A sentence's text and its span in seconds, relative to the chapter's first sample."""

    text: str
    start: float
    end: float


@dataclass
class EncodedChapter:
    """One chapter, encoded on its own and described precisely enough to join it later.

    Lengths are exact sample counts, never container estimates: ``samples`` is
    the chapter's content at ``sample_rate``; packet fields are in samples at
    ``codec_rate`` (48 kHz for Opus). ``lead`` is how far the first packet
    starts before the first content sample (the encoder's priming as the
    container reports it); ``content_offset`` is where a chapter's content
    lands in a file made from its packets, measured once per codec setting.
    """

    index: int
    title: str
    fmt: str
    bitrate: str
    path: Optional[Path]  # None when the chapter had no audio
    sample_rate: int
    samples: int
    codec_rate: int = 0
    packets: int = 0
    frame_samples: int = 0
    lead: int = 0
    content_offset: int = 0
    join_gap: int = 0
    cues: list[Cue] = field(default_factory=list)
    source: Optional[ChapterAudio] = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        """Exact content length in seconds."""
        return self.samples / self.sample_rate if self.sample_rate else 0.0

    @property
    def is_empty(self) -> bool:
        return self.path is None or self.samples <= 0

    @property
    def codec_samples(self) -> float:
        """Content length counted at ``codec_rate`` (fractional when the codec resamples)."""
        return self.samples * self.codec_rate / self.sample_rate if self.sample_rate else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, so a resumed run can reuse parts encoded before."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("path", "cues", "source")}
        data["path"] = str(self.path) if self.path is not None else None
        data["cues"] = [[c.text, c.start, c.end] for c in self.cues]
        if self.source is not None:
            source = asdict(self.source)
            for unit in source["units"]:
                unit["path"] = str(unit["path"])
                unit["sentences"] = [list(s) for s in unit["sentences"]]
            data["source"] = source
        else:
            data["source"] = None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EncodedChapter":
        values = dict(data)
        values["path"] = Path(values["path"]) if values.get("path") else None
        values["cues"] = [Cue(str(t), float(a), float(b)) for t, a, b in values.get("cues", [])]
        source = values.get("source")
        if source is not None:
            units = [
                UnitAudio(Path(u["path"]), [(str(t), float(a), float(b)) for t, a, b in u.get("sentences", [])])
                for u in source.get("units", [])
            ]
            values["source"] = ChapterAudio(int(source["index"]), str(source["title"]), units)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
