"""What a run is asked to do: every setting of one conversion, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..assembly.errors import AssemblyError
from ..assembly.ffmpeg import find_ffmpeg
from ..assembly.formats import FORMAT_NAMES, check_bitrate
from .scheduler import SchedulerConfig

__all__ = ["RunOptions", "RunError", "ENGINES_THAT_DROP_WORDS", "default_output_for", "validate_options"]


#: engines whose takes can skip, cut short or invent words (XTTS's early end-of-audio, dropped one-word
#: sentences): verification is on for them unless --no-verify
ENGINES_THAT_DROP_WORDS = frozenset({"xtts"})
#: most takes a sentence may get
MAX_VERIFY_TAKES = 10


class RunError(Exception):
    """Bad input or configuration for a run; ``str()`` is one line for the user (exit 2)."""


@dataclass
class RunOptions:
    input: Path
    output: Optional[Path] = None
    fmt: str = "m4b"
    bitrate: str = "64k"
    chapters: Optional[str] = None
    include_all: bool = False
    lexicon: Optional[Path] = None
    engine: str = "piper"
    voice: Optional[str] = None
    #: cloning engines (xtts): a reference recording, uploaded once per worker
    voice_sample: Optional[Path] = None
    #: cloning engines: a built-in speaker of the model
    speaker: Optional[str] = None
    #: overrides the book's language
    language: Optional[str] = None
    length_scale: Optional[float] = None
    unit_chars: Optional[int] = None
    #: what one request costs, for sizing units (see tui.core.planning.request_costs): the round
    #: trip to a worker and the engine's fixed time per request, in seconds, and a worker's speed in
    #: audio seconds per wall second; None = measured from the probes where known, else the
    #: engine's default
    request_latency_s: Optional[float] = None
    request_overhead_s: Optional[float] = None
    worker_speed: Optional[float] = None
    max_sentence_chars: int = 400
    split_chapters: bool = False
    subtitles: Optional[str] = None
    sentence_gap_ms: int = 250
    paragraph_gap_ms: int = 600
    chapter_gap_ms: int = 1200
    #: audio seconds per encoded segment, from long (few ffmpeg runs) early in a run down to
    #: short near its end (little left to encode after the last unit)
    segment_seconds_max: float = 300.0
    segment_seconds_min: float = 20.0
    telemetry_interval: float = 2.0
    telemetry_timeout: float = 2.0
    #: telemetry rounds in a row without an answer after which a worker counts as hung (its units are
    #: requeued; it is probed again and rejoins when it answers)
    unresponsive_after: int = 3
    give_up_after: float = 180.0
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    #: hear every sentence back on its worker and speak it again until it says the text; None = on for
    #: engines known to drop or invent words (ENGINES_THAT_DROP_WORDS), off otherwise
    verify: Optional[bool] = None
    #: takes per sentence at most, the first included
    verify_takes: int = 3

    @property
    def output_path(self) -> Path:
        return Path(self.output) if self.output else default_output_for(self.input, self.fmt)

    @property
    def verifying(self) -> bool:
        """Whether this run verifies (``verify`` resolved against the engine)."""
        return self.engine in ENGINES_THAT_DROP_WORDS if self.verify is None else self.verify


def default_output_for(input_path: Path, fmt: str) -> Path:
    """``book.epub`` → ``book.m4b`` next to the input."""
    return input_path.with_suffix("." + fmt)


def validate_options(options: RunOptions) -> None:
    """Raise :class:`RunError` (one line) for settings no worker could fix."""
    if options.fmt not in FORMAT_NAMES:
        raise RunError(f"unknown output format {options.fmt!r}; choose one of {', '.join(FORMAT_NAMES)}")
    if not 1 <= options.verify_takes <= MAX_VERIFY_TAKES:
        raise RunError(f"--verify-takes must be between 1 and {MAX_VERIFY_TAKES}")
    if options.subtitles not in (None, "vtt", "srt"):
        raise RunError(f"unknown subtitle format {options.subtitles!r}; choose vtt or srt")
    try:
        check_bitrate(options.bitrate)
        find_ffmpeg()
    except AssemblyError as exc:
        raise RunError(str(exc)) from None
