"""The headless front end: a progress bar on a terminal, plain log lines otherwise.

Numbers come from the session's :class:`~tui.core.state.RunState` (the same
model the dashboard and the progress endpoint read); events only decide when a
line is printed. Text from workers is printed literally: control characters
are stripped and Rich markup is never interpreted.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Optional

from ..core import events as ev
from ..core.state import RunState
from ..core.text import printable
from .format import format_duration, unit_label

__all__ = ["HeadlessRenderer", "format_summary"]


def format_summary(result: ev.RunFinished) -> str:
    """The end-of-run account a user reads: what was made, how fast, who did what, what failed."""
    speed = result.audio_seconds / result.wall_seconds if result.wall_seconds > 0 else 0.0
    heading = {"complete": "Finished", "stopped": "Stopped", "aborted": "Aborted"}.get(result.outcome,
                                                                                         "Finished with problems")
    lines = [
        f"{heading}: {format_duration(result.audio_seconds)} of audio in {format_duration(result.wall_seconds)}"
        + f" ({speed:.1f}x real time)",
        f"Units: {result.units_total} total, {result.units_synthesized} synthesized, {result.units_reused} reused"
        + (f", {len(result.quarantined)} quarantined" if result.quarantined else ""),
    ]
    for name, stats in sorted(result.per_worker.items()):
        request = stats.get("request_seconds", 0.0)
        rate = stats.get("audio_seconds", 0.0) / result.wall_seconds if result.wall_seconds else 0.0
        lines.append(
            f"  {name}: {int(stats.get('units', 0))} units, {format_duration(stats.get('audio_seconds', 0.0))} audio,"
            f" {rate:.1f}x real time" + (f" (request time {request:.0f} s)" if request else "")
        )
    if result.tail_seconds:
        lines.append(f"Assembly after the last unit: {result.tail_seconds:.1f} s")
    for path in result.outputs:
        lines.append(f"Wrote {path}")
    if result.quarantined:
        lines.append("Partial audiobook: these units failed on every worker tried: "
                     + ", ".join(unit_label(u) for u in result.quarantined[:10]))
        for unit_id in result.quarantined[:5]:
            error = result.errors.get(unit_id) if result.errors else ""
            if error:
                lines.append(f"  unit {unit_label(unit_id)}: {printable(error, max_chars=300)}")
    checked = result.sentences_passed + result.sentences_flagged
    if checked or result.sentences_unverified:
        lines.append(f"Verified: {result.sentences_passed} of {checked} sentences heard as written"
                     + (f", {result.sentences_flagged} flagged" if result.sentences_flagged else "")
                     + (f", {result.sentences_unverified} not checkable" if result.sentences_unverified else ""))
    if result.flagged_report:
        lines.append(f"Flagged sentences (still wrong after every take): {result.flagged_report}")
    if result.error:
        lines.append(f"Problem: {printable(result.error)}")
    if result.outcome == "aborted":
        lines.append("Finished units are kept; rerun the same command to resume.")
    return "\n".join(lines)


class HeadlessRenderer:
    """Subscribe with ``session.subscribe(renderer)``; call :meth:`close` at the end."""

    def __init__(self, state: RunState, stream: Optional[IO[str]] = None, *, interactive: Optional[bool] = None,
                 log_interval: float = 10.0) -> None:
        self.state = state
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.log_interval = log_interval
        self._last_log = 0.0
        self._progress = None
        self._task = None
        self._last_pct = -1

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
        o = self.state.overall
        self._task = self._progress.add_task("units", total=o.units_total, completed=o.units_done, speed="")

    def _line(self, text: str) -> None:
        """One line of text, exactly as given (never parsed as markup)."""
        text = printable(text)
        if self._progress is not None:
            from rich.text import Text

            self._progress.console.print(Text(text), soft_wrap=True)
        else:
            print(text, file=self.stream, flush=True)

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._line(
                f"{event.title or 'Book'}: {event.total_chapters} chapters, {event.total_units} units"
                f" (~{format_duration(event.est_audio_seconds)} of audio) on {len(event.workers)} worker(s)"
                + (f"; {event.already_done} units already done" if event.already_done else "")
            )
            self._ensure_progress()
        elif isinstance(event, (ev.UnitDone, ev.ChapterReopened)):
            self._advance()
        elif isinstance(event, ev.AttemptFailed):
            self._line(f"unit {unit_label(event.unit_id)} failed on {event.worker}: {event.error}"
                       + (" (quarantined)" if event.quarantined else ""))
            self._advance()
        elif isinstance(event, ev.WorkerStateChanged):
            if event.state in ("down", "draining") or (event.state == "up" and event.reason == "back"):
                self._line(f"worker {event.worker} is {event.state}" + (f": {event.reason}" if event.reason else ""))
        elif isinstance(event, ev.HostPhase):
            self._line(f"{event.host}: {event.phase}" + (f" ({event.detail})" if event.detail else ""))
        elif isinstance(event, ev.HostRecapped):
            self._line(f"{event.host}: {event.state}" + (f" at {event.step}" if event.step else "")
                       + (f": {event.message}" if event.message else ""))
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
        state = self.state
        o = state.overall
        speed = state.speed()
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=o.units_total, completed=o.units_done,
                                  speed=f"{speed:.1f}x real time")
            return
        now = time.monotonic()
        if now - self._last_log >= self.log_interval or o.units_done == o.units_total:
            if o.units_done == self._last_pct and now - self._last_log < self.log_interval:
                return
            self._last_log, self._last_pct = now, o.units_done
            eta = state.eta()
            eta_text = f", ETA {format_duration(eta)}" if eta is not None and o.units_done < o.units_total else ""
            self._line(f"progress: {o.units_done}/{o.units_total} units ({state.percent():.0f}%), "
                       f"{speed:.1f}x real time{eta_text}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
