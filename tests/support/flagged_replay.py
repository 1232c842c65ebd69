"""A verified run as a recorded event stream: three chapters, three sentences flagged after every take.

Folded into a :class:`RunState` with a fake clock, it gives the dashboard's
verification columns and Flagged view the same rows on every run. Run as
``python -m tests.support.flagged_replay [OUTPUT]`` it opens the dashboard on
that finished run (for a real terminal).
"""

from __future__ import annotations

import sys
from typing import Optional

from tests.support.replay import FakeClock, StandInSession, replay
from tui.core import events as ev
from tui.core.state import RunState

__all__ = ["verify_events", "verified_state", "FLAGGED", "CHAPTER_TITLES", "UNIT_SECONDS", "SENTENCES"]

CHAPTER_TITLES = ("The Clock That Ran Slow", "A Visitor from the Mainland", "The Last Night of the Light")
UNITS_PER_CHAPTER = 2
UNIT_SECONDS = 20.0
SENTENCES = 6  # per unit

#: unit id -> its flagged sentences (times within the unit)
FLAGGED = {
    "c0000-u0001": (ev.FlaggedCheck(2, 8.4, 11.9, 0.41, "missing", 3,
                                    "The keeper wound the brass clock every evening at seven.",
                                    "The keeper wound the clock at seven."),),
    "c0002-u0000": (ev.FlaggedCheck(0, 1.25, 4.75, 0.12, "babble", 3,
                                    "Gulls circled the rocks while the tide went out.",
                                    "Orange piano yesterday window seven bicycle mountain purple kitchen."),),
    "c0002-u0001": (ev.FlaggedCheck(4, 15.0, 17.2, 0.58, "repeat", 2, "Nobody came to see it.",
                                    "Nobody came to see to see it."),),
}


def _unit_ids() -> list[tuple[str, int]]:
    return [(f"c{c:04d}-u{u:04d}", c) for c in range(len(CHAPTER_TITLES)) for u in range(UNITS_PER_CHAPTER)]


def verify_events(output: str = "/books/lighthouse.m4b", *, finished: bool = True) -> list[tuple[float, ev.Event]]:
    """Every unit spoken, checked and done on one worker; with ``finished`` the run's end (book written)."""
    chapters = tuple(ev.ChapterInfo(i, t, 120) for i, t in enumerate(CHAPTER_TITLES))
    units = _unit_ids()
    plans = tuple(ev.UnitPlan(uid, c, 300, UNIT_SECONDS) for uid, c in units)
    out: list[tuple[float, ev.Event]] = [
        (0.0, ev.BookLoaded("The Lighthouse Keeper", "E. Sample", output, chapters)),
        (0.1, ev.RunPhase("running")),
        (0.1, ev.WorkerStateChanged("gpu-a-0", "up", "gpu-a", gpu_index=0)),
        (0.1, ev.RunPlanned("verify01", plans)),
        (0.0, ev.RunStarted("The Lighthouse Keeper", len(plans), len(chapters), 0, UNIT_SECONDS * len(plans),
                            ("gpu-a-0",))),
    ]
    retakes = 0
    for attempt, (uid, chapter) in enumerate(units, 1):
        flagged = FLAGGED.get(uid, ())
        retakes += sum(f.takes - 1 for f in flagged)
        out.append((0.2, ev.UnitStarted(attempt, uid, chapter, "gpu-a-0", 1)))
        out.append((2.0, ev.UnitChecked(uid, chapter, SENTENCES - len(flagged), 0, flagged,
                                        sum(f.takes - 1 for f in flagged))))
        out.append((0.0, ev.UnitDone(attempt, uid, chapter, "gpu-a-0", UNIT_SECONDS, 2.0, 300, 10.0)))
        if uid.endswith(f"u{UNITS_PER_CHAPTER - 1:04d}"):
            out.append((0.0, ev.ChapterDone(chapter, CHAPTER_TITLES[chapter], UNIT_SECONDS * UNITS_PER_CHAPTER)))
    if finished:
        flagged_total = sum(len(f) for f in FLAGGED.values())
        out.append((1.0, ev.RunFinished(
            ok=True, outputs=(output,), audio_seconds=UNIT_SECONDS * len(units), wall_seconds=14.0,
            units_total=len(units), units_synthesized=len(units), units_reused=0, quarantined=(),
            per_worker={"gpu-a-0": {"units": len(units), "audio_seconds": UNIT_SECONDS * len(units)}},
            sentences_passed=SENTENCES * len(units) - flagged_total, sentences_flagged=flagged_total,
            flagged_report=output.rsplit(".", 1)[0] + ".flagged.tsv")))
    return out


def verified_state(output: str = "/books/lighthouse.m4b", *, finished: bool = True) -> RunState:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, verify_events(output, finished=finished))
    return state


def main(argv: Optional[list[str]] = None) -> int:
    """The dashboard over the finished run, for a terminal test."""
    from tui.dashboard.app import DashboardApp

    args = sys.argv[1:] if argv is None else argv
    state = verified_state(args[0]) if args else verified_state()
    app = DashboardApp(StandInSession(state), history_interval=None)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
