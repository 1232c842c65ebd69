"""What the recogniser heard: words with their times, independent of any ASR package.

Kept apart from :mod:`.asr` so that judging a transcript (and testing it) needs
neither faster-whisper nor a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["HeardWord", "Transcript"]


@dataclass(frozen=True)
class HeardWord:
    """One recognised word as written by the recogniser, with its times in seconds from the audio start."""

    text: str
    start: float
    end: float
    probability: float = 1.0

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2.0


@dataclass(frozen=True)
class Transcript:
    """All words heard in one piece of audio, and what hearing it cost."""

    words: list[HeardWord] = field(default_factory=list)
    language: str = "en"
    audio_seconds: float = 0.0
    asr_seconds: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(w.text.strip() for w in self.words if w.text.strip())
