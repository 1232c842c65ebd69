"""The dashboard over a stand-in session: which command each key sends, and what it refuses to send.

Fast (no workers): a recorded event stream in a RunState with a fake clock.
"""

from __future__ import annotations

import time

import pytest

from tests.support.replay import FakeClock, StandInSession, book_events, finished_event, replay
from tui.core import commands as cmd
from tui.core import events as ev
from tui.core.state import RunState
from tui.dashboard.app import DashboardApp
from tui.dashboard.widgets.chapters import ChaptersTable
from tui.dashboard.widgets.notices import NoticeLog
from tui.dashboard.widgets.workers import WorkersTable


def _setup() -> tuple[DashboardApp, StandInSession, RunState, FakeClock]:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, book_events())
    session = StandInSession(state)
    return DashboardApp(session, history_interval=None, refresh_interval=0.05), session, state, clock


def _sent(session: StandInSession) -> list:
    return [c for _, c in session.sent]


async def _settle(pilot, condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await pilot.pause(0.02)


async def test_keys_send_typed_commands_for_the_selection() -> None:
    app, session, state, _ = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        chapters, workers = app.query_one(ChaptersTable), app.query_one(WorkersTable)
        await pilot.press("r")  # chapter 1 is done: nothing to retry, nothing sent
        assert _sent(session) == []
        chapters.select_key("2")
        await pilot.press("r")
        workers.select_key("local-1")
        await pilot.press("d", "u", "b", "p")
        chapters.select_key("3")  # nothing finished in chapter 4: requeued without a question
        await pilot.press("R")
        chapters.select_key("1")  # chapter 2 has finished units: asks; y redoes them
        await pilot.press("R", "y")
        await pilot.press("R", "escape")  # cancelled: nothing sent
        await pilot.press("s")
        assert _sent(session) == [
            cmd.RetryChapter(2), cmd.Drain("local-1"), cmd.Undrain("local-1"), cmd.Rebootstrap("localhost"),
            cmd.Pause(), cmd.RequeueChapter(3, redo=False), cmd.RequeueChapter(1, redo=True), cmd.Stop()]
        state.apply(ev.DispatchChanged(True))
        await pilot.press("p")
        assert _sent(session)[-1] == cmd.Resume()


async def test_command_palette_reaches_the_session() -> None:
    app, session, _, _ = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Pause or resume")
        await _settle(pilot, lambda: "Pause" in str(app.screen.query("CommandList").first().get_option_at_index(0)
                                                     .prompt) if app.screen.query("CommandList") else False)
        await pilot.press("enter")
        await _settle(pilot, lambda: _sent(session) == [cmd.Pause()])


async def test_quit_asks_while_work_is_in_flight_and_aborts() -> None:
    app, session, _, _ = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q", "n")
        assert _sent(session) == [] and app.is_running
        await pilot.press("q", "y")
        await _settle(pilot, lambda: app.return_code is not None)
    assert _sent(session) == [cmd.Abort()]
    assert app.return_code == 130


async def test_after_the_run_keys_send_nothing_and_q_quits_with_its_exit_code() -> None:
    app, session, state, _ = _setup()
    state.apply(finished_event(state))
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(ChaptersTable).select_key("2")
        await pilot.press("r", "p", "s", "d")
        assert _sent(session) == []
        assert app.query_one("#summary").display
        await pilot.press("q")
        await _settle(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1  # partial, as headless


async def test_updates_keep_the_selection_rows_and_order() -> None:
    app, session, state, clock = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        chapters = app.query_one(ChaptersTable)
        chapters.select_key("2")
        await pilot.pause()
        before = [chapters.coordinate_to_cell_key((r, 0)).row_key.value for r in range(chapters.row_count)]
        unit = state.chapters[2].unit_ids[1]
        state.apply(ev.UnitStarted(900, unit, 2, "gpu-a-0", 1))
        clock.advance(2.0)
        state.apply(ev.UnitDone(900, unit, 2, "gpu-a-0", 16.0, 2.0, 240))
        await _settle(pilot, lambda: str(chapters.get_cell("2", "units")) == "1/4")
        after = [chapters.coordinate_to_cell_key((r, 0)).row_key.value for r in range(chapters.row_count)]
        assert after == before and chapters.selected_key() == "2"


async def test_worker_text_is_shown_literally() -> None:
    app, _, state, _ = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        state.apply(ev.Notice("error", "boom [red]not a style[/red] \x1b[2Jclear"))
        log = app.query_one(NoticeLog)
        await _settle(pilot, lambda: any("not a style" in line.text for line in log.lines))
        text = "\n".join(line.text for line in log.lines)
    assert "[red]not a style[/red]" in text and "\x1b" not in text


def test_narrow_tables_keep_the_important_columns() -> None:
    narrow, wide = WorkersTable().columns_for(78), WorkersTable().columns_for(198)
    assert {"name", "state", "current", "done"} <= set(narrow) and len(narrow) < len(wide)
    assert wide == tuple(c.key for c in WorkersTable.COLUMNS)
    assert {"num", "title", "state", "pct"} <= set(ChaptersTable().columns_for(78))


class _Scripted(StandInSession):
    """A stand-in with ``run()``: ends the run at once, or fails the way a bad input does."""

    def __init__(self, state: RunState, error: Exception | None = None) -> None:
        super().__init__(state)
        self.error = error

    async def run(self) -> ev.RunFinished:
        if self.error is not None:
            raise self.error
        result = finished_event(self.state)
        self.state.apply(result)
        return result


async def test_exit_when_done_closes_with_the_headless_exit_code() -> None:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, book_events())
    app = DashboardApp(_Scripted(state), exit_when_done=True, history_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot, lambda: app.return_code is not None)
    assert app.return_code == 1 and app.result is state.overall.result


async def test_a_run_that_cannot_start_is_one_line_and_exit_2() -> None:
    from tui.core.run import RunError

    app = DashboardApp(_Scripted(RunState(), RunError("ffmpeg not found\nsecond line")), history_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot, lambda: app.return_code is not None)
    assert app.return_code == 2 and app.error == "ffmpeg not found"


@pytest.mark.parametrize("failed, code", [(True, 1), (False, 0)])
async def test_bootstrap_view_runs_the_bootstrap_and_exits_by_outcome(failed: bool, code: int) -> None:
    import asyncio

    from tui.dashboard.bootstrap_app import BootstrapApp
    from tests.support.replay import bootstrap_events

    state = RunState()
    stream = [e for _, e in bootstrap_events()]
    if not failed:
        stream = [e for e in stream if getattr(e, "host", "") == "gpu-a"]

    async def work() -> list:
        for event in stream:
            state.apply(event)
            await asyncio.sleep(0)
        return ["recaps"]

    app = BootstrapApp(state, work, refresh_interval=0.05)
    async with app.run_test(size=(100, 24)) as pilot:
        await _settle(pilot, lambda: app.recaps is not None)
        await pilot.press("q")
        await _settle(pilot, lambda: app.return_code is not None)
    assert app.return_code == code


async def test_scroll_position_stays_while_rows_change() -> None:
    clock = FakeClock()
    state = RunState(clock=clock)
    chapters = tuple(ev.ChapterInfo(i, f"Chapter {i + 1}", 1000) for i in range(60))
    plans = tuple(ev.UnitPlan(f"c{i:04d}-u000", i, 300, 20.0) for i in range(60))
    replay(state, clock, [(0.0, ev.BookLoaded("Long", "A", "/tmp/long.m4b", chapters)),
                          (0.0, ev.WorkerStateChanged("w1", "up", "h")), (0.0, ev.RunPlanned("s", plans)),
                          (0.0, ev.RunStarted("Long", 60, 60, 0, 1200.0, ("w1",)))])
    app = DashboardApp(StandInSession(state), history_interval=None, refresh_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(ChaptersTable)
        table.select_key("45")
        await pilot.pause(0.2)
        scroll, selected = table.scroll_y, table.selected_key()
        assert scroll > 0 and selected == "45"
        for i in range(0, 60, 3):  # changes above, at and below the view
            state.apply(ev.UnitStarted(i, plans[i].unit_id, i, "w1", 1))
            state.apply(ev.UnitDone(i, plans[i].unit_id, i, "w1", 20.0, 2.0, 300))
        await _settle(pilot, lambda: str(table.get_cell("45", "state")) == "done")
        assert table.scroll_y == scroll and table.selected_key() == selected


def _order(table) -> list[str]:
    return [table.coordinate_to_cell_key((r, 0)).row_key.value for r in range(table.row_count)]


async def _click_header(pilot, table, column_key: str) -> None:
    """Click the middle of a column's header cell (the table's border and earlier columns before it)."""
    x = table.content_region.x - table.region.x
    for column in table.ordered_columns:
        width = column.get_render_width(table)
        if column.key == column_key:
            break
        x += width
    await pilot.click(table, offset=(x + width // 2, table.content_region.y - table.region.y))
    await pilot.pause()


async def test_clicking_a_header_sorts_and_again_reverses_keeping_the_selection() -> None:
    app, _, _, _ = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        chapters = app.query_one(ChaptersTable)
        chapters.select_key("1")
        assert _order(chapters) == ["0", "1", "2", "3"]
        await _click_header(pilot, chapters, "words")  # 93, 91, 95 and 40 words
        assert _order(chapters) == ["3", "1", "0", "2"] and chapters.selected_key() == "1"
        assert str(chapters.columns["words"].label) == "Words▲"
        await _click_header(pilot, chapters, "words")
        assert _order(chapters) == ["2", "0", "1", "3"] and chapters.selected_key() == "1"
        assert str(chapters.columns["words"].label) == "Words▼"
        workers = app.query_one(WorkersTable)
        assert _order(workers) == ["gpu-a-0", "local-1"]
        await _click_header(pilot, workers, "fail")
        await _click_header(pilot, workers, "fail")  # most failures first
        assert _order(workers) == ["local-1", "gpu-a-0"]
        assert chapters.sort_column == "words"  # each table keeps its own order


async def test_sorted_rows_move_with_updates_and_the_selection_follows() -> None:
    app, _, state, clock = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        chapters = app.query_one(ChaptersTable)
        chapters.sort_by("pct", reverse=True)  # chapter 1 done, chapter 2 half, chapters 3 and 4 none
        await pilot.pause()
        assert _order(chapters) == ["0", "1", "2", "3"]
        chapters.select_key("3")
        for n, unit in enumerate(state.chapters[3].unit_ids[:3]):  # chapter 4 goes to 75 %
            state.apply(ev.UnitStarted(900 + n, unit, 3, "gpu-a-0", 1))
            clock.advance(1.0)
            state.apply(ev.UnitDone(900 + n, unit, 3, "gpu-a-0", 16.0, 1.0, 240))
        await _settle(pilot, lambda: _order(chapters) == ["0", "3", "1", "2"])
        assert chapters.selected_key() == "3" and chapters.cursor_row == 1


async def test_the_sort_key_cycles_the_focused_tables_columns() -> None:
    app, _, _, _ = _setup()
    async with app.run_test(size=(120, 40)) as pilot:
        chapters = app.query_one(ChaptersTable)
        assert app.focused is chapters
        await pilot.press("o")
        assert chapters.sort_column == "num" and _order(chapters) == ["0", "1", "2", "3"]
        await pilot.press("o")  # titles, ignoring case
        assert chapters.sort_column == "title" and _order(chapters) == ["1", "3", "0", "2"]
        for _ in range(len(chapters.ordered_columns) - 1):  # past the last column: the book's order again
            await pilot.press("o")
        assert chapters.sort_column is None and _order(chapters) == ["0", "1", "2", "3"]
        assert all("▲" not in str(c.label) and "▼" not in str(c.label) for c in chapters.ordered_columns)
        await pilot.press("tab")  # the Workers table
        workers = app.query_one(WorkersTable)
        assert app.focused is workers
        await pilot.press("o")
        assert workers.sort_column == "name" and chapters.sort_column is None
        assert any(c.help.startswith("Sort the focused table") for c in app.get_system_commands(app.screen))
        footer_keys = {key for key, active in app.active_bindings.items() if active.binding.show}
        assert "o" in footer_keys
