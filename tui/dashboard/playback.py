"""Playing one flagged sentence's span of the written book with whatever player the machine has.

Pure parts (which file and where in it, which player and its command line) are
separate from running it, so they can be tested without sound. Running blocks:
the Flagged view calls :meth:`Player.run` in a thread worker.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..core.checks import FlaggedSentence, book_time
from ..core.state import RunState

__all__ = ["Span", "NotPlayable", "Playback", "Player", "span_of", "find_playback", "command_line", "PLAYERS"]

#: players tried, in order; paplay cannot seek, so it plays a span cut out first with ffmpeg
PLAYERS = ("ffplay", "mpv", "paplay")
_SUBTITLES = (".vtt", ".srt")

Which = Callable[[str], Optional[str]]


class NotPlayable(Exception):
    """The sentence has no audio file to play yet (the message says why)."""


@dataclass(frozen=True)
class Span:
    """``seconds`` of ``path`` from ``start``: one sentence in the file it was written to."""

    path: str
    start: float
    seconds: float

    def describe(self) -> str:
        return f"{book_time(self.start)} (+{self.seconds:.1f} s) of {Path(self.path).name}"


def _audio_outputs(outputs: Sequence[str]) -> list[str]:
    return [p for p in outputs if Path(p).suffix.lower() not in _SUBTITLES]


def _split_span(state: RunState, sentence: FlaggedSentence, files: list[str]) -> Optional[Span]:
    """With one file per chapter (in book order, chapters without audio left out): the chapter's own file."""
    chapters = sorted(state.chapters.values(), key=lambda c: c.index)
    voiced = [c.index for c in chapters if c.audio_seconds > 0]
    if len(voiced) != len(files) or sentence.chapter_index not in voiced:
        return None
    before = sum(c.audio_seconds for c in chapters if c.index < sentence.chapter_index)
    return Span(files[voiced.index(sentence.chapter_index)], max(0.0, sentence.book_seconds - before),
                sentence.seconds)


def span_of(state: RunState, sentence: FlaggedSentence) -> Span:
    """Where the sentence is heard in the written book; raises :class:`NotPlayable` before it is written."""
    overall = state.overall
    result = overall.result
    if result is None:
        raise NotPlayable(f"The book is not written yet: {overall.output or 'it'} is written when the run ends.")
    files = _audio_outputs(result.outputs)
    if len(files) > 1:
        span = _split_span(state, sentence, files)
        if span is not None and Path(span.path).is_file():
            return span
        raise NotPlayable(f"Cannot tell which of the {len(files)} chapter files holds chapter "
                          f"{sentence.chapter_index + 1}.")
    if not files:  # a file at the output path is from an earlier run: its times need not match
        raise NotPlayable(f"The run ended without writing the book ({result.outcome}).")
    if not Path(files[0]).is_file():
        raise NotPlayable(f"The book is no longer there: {files[0]}")
    return Span(files[0], sentence.book_seconds, sentence.seconds)


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"


def _player_argv(player: str, program: str, span: Span, cut: str = "") -> list[str]:
    start, length = _seconds(span.start), _seconds(span.seconds)
    if player == "ffplay":
        return [program, "-nodisp", "-autoexit", "-loglevel", "error", "-ss", start, "-t", length, span.path]
    if player == "mpv":  # --no-terminal: the dashboard owns the terminal's keys and screen
        return [program, "--no-video", "--no-terminal", f"--start={start}", f"--length={length}", span.path]
    return [program, cut]


@dataclass(frozen=True)
class Playback:
    """A player's name and the commands that play the span (for paplay: cut with ffmpeg, then play)."""

    player: str
    commands: tuple[tuple[str, ...], ...]
    temporary: Optional[str] = None  # the cut span, removed after playing


def find_playback(span: Span, which: Which = shutil.which) -> Optional[Playback]:
    """The first player on PATH that can play the span; None when there is none."""
    for player in PLAYERS:
        program = which(player)
        if program is None:
            continue
        if player != "paplay":
            return Playback(player, (tuple(_player_argv(player, program, span)),))
        ffmpeg = which("ffmpeg")
        if ffmpeg is None:  # paplay plays whole files only: without ffmpeg there is nothing to cut with
            continue
        cut = os.path.join(tempfile.gettempdir(), f"e2a-span-{uuid.uuid4().hex}.wav")
        cutting = (ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-ss", _seconds(span.start), "-t",
                   _seconds(span.seconds), "-i", span.path, "-f", "wav", cut)
        return Playback(player, (cutting, tuple(_player_argv(player, program, span, cut))), cut)
    return None


def command_line(span: Span) -> str:
    """The line a person can paste into a shell to hear the span (the first player's)."""
    return shlex.join(_player_argv(PLAYERS[0], PLAYERS[0], span))


class Player:
    """Runs one playback at a time; starting another, or :meth:`stop`, ends the one playing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen] = None
        self._generation = 0

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()

    def run(self, playback: Playback) -> str:
        """Play (blocking); returns what went wrong, or "" when it played to the end or was stopped."""
        self.stop()
        with self._lock:
            mine = self._generation
        try:
            for argv in playback.commands:
                with self._lock:
                    if mine != self._generation:
                        return ""
                    try:  # never the terminal: the dashboard draws on it
                        process = self._process = subprocess.Popen(
                            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
                    except OSError as exc:
                        return f"{argv[0]}: {exc.strerror or exc}"
                _, err = process.communicate()
                if mine != self._generation:
                    return ""
                # ffplay exits 0 even when it cannot open the file or the audio device: its errors are on stderr
                said = [line.strip() for line in err.decode(errors="replace").splitlines() if line.strip()]
                if process.returncode != 0 or said:
                    why = " · ".join(said[-2:]) or f"exit {process.returncode}"
                    return f"{Path(argv[0]).name}: {why[:300]}"
            return ""
        finally:
            with self._lock:
                if mine == self._generation:
                    self._process = None
            if playback.temporary:
                Path(playback.temporary).unlink(missing_ok=True)
