"""Snapshots of the dashboard fed a recorded event stream with a fake clock (no workers, no timing).

Update after an intended change with ``pytest tests/test_dashboard_snapshots.py --snapshot-update``
and look at the report before committing the new ``__snapshots__``.
"""

from __future__ import annotations

from tests.support.flagged_replay import verified_state
from tests.support.replay import FakeClock, StandInSession, book_events, bootstrap_events, finished_event, replay
from tui.core.state import RunState
from tui.dashboard.app import DashboardApp
from tui.dashboard.bootstrap_app import BootstrapApp

LOG = "INFO:     Started server process [4242]\nE2A_WORKER_PORT=41234\n\x1b[31mred\x1b[0m [bold]literal[/bold]"


def _state(*, hosts: bool = False, finished: bool = False) -> RunState:
    clock = FakeClock()
    state = RunState(clock=clock)
    if hosts:
        replay(state, clock, bootstrap_events())
    replay(state, clock, book_events())
    for _ in range(6):  # a sparkline's worth of history, inside the throughput window
        clock.advance(5.0)
        state.sample_history()
    if finished:
        state.apply(finished_event(state))
    return state


def _app(state: RunState) -> DashboardApp:
    return DashboardApp(StandInSession(state), log_reader=lambda worker: LOG, history_interval=None,
                        remote_hint="")


def test_main_screen(snap_compare) -> None:
    assert snap_compare(_app(_state(hosts=True)), terminal_size=(120, 40))


def test_main_screen_wide(snap_compare) -> None:
    assert snap_compare(_app(_state()), terminal_size=(200, 60))


def test_main_screen_80x24_collapses_columns(snap_compare) -> None:
    assert snap_compare(_app(_state()), terminal_size=(80, 24))


def test_main_screen_light_theme(snap_compare) -> None:
    app = _app(_state())

    async def light(pilot) -> None:
        pilot.app.theme = "textual-light"
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=light)


def test_main_screen_sorted(snap_compare) -> None:
    # chapters by words, most first; workers by failures: the arrow marks the column and its direction
    async def sort(pilot) -> None:
        from tui.dashboard.widgets.chapters import ChaptersTable
        from tui.dashboard.widgets.workers import WorkersTable

        pilot.app.query_one(ChaptersTable).sort_by("words", reverse=True)
        pilot.app.query_one(WorkersTable).sort_by("fail", reverse=True)
        await pilot.pause()

    assert snap_compare(_app(_state()), terminal_size=(120, 40), run_before=sort)


def test_chapter_detail(snap_compare) -> None:
    # the quarantined chapter (row 3): its units, the failing one with its error
    assert snap_compare(_app(_state()), terminal_size=(120, 40), press=["down", "down", "enter"])


def test_worker_detail(snap_compare) -> None:
    async def open_worker(pilot) -> None:
        await pilot.press("tab", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(_app(_state()), terminal_size=(120, 40), run_before=open_worker)


def test_help_screen(snap_compare) -> None:
    assert snap_compare(_app(_state()), terminal_size=(100, 30), press=["question_mark"])


def test_summary(snap_compare) -> None:
    assert snap_compare(_app(_state(finished=True)), terminal_size=(120, 40))


def test_main_screen_verified_80x24(snap_compare) -> None:
    # verified share and flagged count per chapter push the words column out; b and u leave the footer
    assert snap_compare(_app(verified_state()), terminal_size=(80, 24))


def test_flagged_view(snap_compare) -> None:
    # the second flagged sentence selected: its expected and heard words in full, differences marked
    assert snap_compare(_app(verified_state()), terminal_size=(120, 40), press=["f", "down"])


def test_flagged_view_80x24(snap_compare) -> None:
    assert snap_compare(_app(verified_state()), terminal_size=(80, 24), press=["f"])


def test_bootstrap_view_with_a_failed_host(snap_compare) -> None:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, bootstrap_events())
    assert snap_compare(BootstrapApp(state), terminal_size=(100, 24))
