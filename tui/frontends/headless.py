"""The headless front end: a progress bar on a terminal, plain log lines otherwise.

It only listens to core events; the same events drive the Textual dashboard.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Optional

from ..core import events as ev

__all__ = ["HeadlessRenderer", "format_summary", "format_duration"]


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_summary(result: ev.RunFinished) -> str:
    """The end-of-run account a user reads: what was made, how fast, who did what, what failed."""
    speed = result.audio_seconds / result.wall_seconds if result.wall_seconds > 0 else 0.0
    lines = [
        ("Finished" if result.ok else "Finished with problems")
        + f": {format_duration(result.audio_seconds)} of audio in {format_duration(result.wall_seconds)}"
        + f" ({speed:.1f}x real time)",
        f"Units: {result.units_total} total, {result.units_synthesized} synthesized, {result.units_reused} reused"
        + (f", {len(result.quarantined)} quarantined" if result.quarantined else ""),
    ]
    for name, stats in sorted(result.per_worker.items()):
        wall = stats.get("wall_seconds", 0.0)
        rate = stats.get("audio_seconds", 0.0) / result.wall_seconds if result.wall_seconds else 0.0
        lines.append(
            f"  {name}: {int(stats.get('units', 0))} units, {format_duration(stats.get('audio_seconds', 0.0))} audio,"
            f" {rate:.1f}x real time" + (f" (request time {wall:.0f} s)" if wall else "")
        )
    if result.tail_seconds:
        lines.append(f"Assembly after the last unit: {result.tail_seconds:.1f} s")
    for path in result.outputs:
        lines.append(f"Wrote {path}")
    if result.quarantined:
        lines.append("Partial audiobook: these units failed on every worker tried: " + ", ".join(result.quarantined[:10]))
    if result.error:
        lines.append(f"Problem: {result.error}")
    return "\n".join(lines)


class HeadlessRenderer:
    """Subscribe with ``bus.subscribe(renderer)``; call :meth:`close` at the end."""

    def __init__(self, stream: Optional[IO[str]] = None, *, interactive: Optional[bool] = None,
                 log_interval: float = 10.0) -> None:
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.log_interval = log_interval
        self.total = 0
        self.done = 0
        self.audio_seconds = 0.0
        self.est_audio = 0.0
        self.started = time.monotonic()
        self._last_log = 0.0
        self._progress = None
        self._task = None

    # rich is only imported for a terminal, so piping to a file stays dependency-light
    def _ensure_progress(self) -> None:
        if self._progress is not None or not self.interactive:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}"), TimeRemainingColumn(),
            console=Console(file=self.stream), transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("units", total=self.total, completed=self.done, speed="")

    def _line(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def _speed(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.audio_seconds / elapsed if elapsed > 0 else 0.0

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.total, self.done, self.est_audio = event.total_units, event.already_done, event.est_audio_seconds
            self.started = time.monotonic()
            self._line(
                f"{event.title or 'Book'}: {event.total_chapters} chapters, {event.total_units} units"
                f" (~{format_duration(event.est_audio_seconds)} of audio) on {len(event.workers)} worker(s)"
                + (f"; {event.already_done} units already done" if event.already_done else "")
            )
            self._ensure_progress()
        elif isinstance(event, ev.UnitDone):
            if not event.reused:  # reused units are already counted in RunStarted.already_done
                self.done += 1
                self.audio_seconds += event.audio_seconds
                self._advance()
        elif isinstance(event, ev.UnitFailed):
            self._line(f"unit {event.unit_id} failed on {event.worker}: {event.error}"
                       + (" (quarantined)" if event.quarantined else ""))
        elif isinstance(event, ev.WorkerState):
            if event.state != "up" or event.reason == "back":
                self._line(f"worker {event.worker} is {event.state}" + (f": {event.reason}" if event.reason else ""))
        elif isinstance(event, ev.ChapterDone):
            if not self.interactive:
                self._line(f"chapter {event.chapter_index + 1} done: {event.title} ({format_duration(event.audio_seconds)})")
        elif isinstance(event, ev.AssemblyStarted):
            self._line(f"writing {event.output}")
        elif isinstance(event, ev.Notice):
            self._line(f"{event.level}: {event.message}")
        elif isinstance(event, ev.RunFinished):
            self.close()

    def _advance(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.done, speed=f"{self._speed():.1f}x real time")
            return
        now = time.monotonic()
        if now - self._last_log >= self.log_interval or self.done == self.total:
            self._last_log = now
            pct = 100.0 * self.done / self.total if self.total else 100.0
            speed = self._speed()
            remaining = max(0.0, self.est_audio - self.audio_seconds)
            eta = f", ETA {format_duration(remaining / speed)}" if speed > 0 and self.done < self.total else ""
            self._line(f"progress: {self.done}/{self.total} units ({pct:.0f}%), {speed:.1f}x real time{eta}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
