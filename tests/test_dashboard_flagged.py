"""Verified audio in the dashboard: chapter and overall counts, the Flagged view, playing a span, new takes.

The state is folded from a recorded verified run (tests/support/flagged_replay.py);
players are recording scripts put on PATH, so no sound is made.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import pytest
from rich.console import Console

from tests.support.flagged_replay import verified_state
from tests.support.players import recorded_calls, recording_player
from tests.support.replay import FakeClock, StandInSession, book_events, replay
from tui.core import commands as cmd
from tui.core import events as ev
from tui.core.state import RunState
from tui.dashboard.app import DashboardApp
from tui.dashboard.playback import Span, command_line, find_playback, span_of
from tui.dashboard.screens.flagged import FlaggedScreen, FlaggedTable
from tui.dashboard.screens.help import KEY_HELP
from tui.dashboard.widgets.chapters import ChaptersTable
from tui.dashboard.widgets.overview import progress_line
from tui.dashboard.widgets.workers import WorkersTable
from tui.dashboard.words import EXTRA_STYLE, MISSING_STYLE, word_diff

SIZE = (120, 40)


def _app(state: RunState) -> tuple[DashboardApp, StandInSession]:
    session = StandInSession(state)
    return DashboardApp(session, history_interval=None, refresh_interval=0.05), session


async def _settle(pilot, condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


def _notices(app: DashboardApp) -> list[str]:
    return [n.message for n in app._notifications]


def _shown(widget) -> str:
    """What a Static shows, as plain text (its content may be a rich Table)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def _value(argv: list[str], flag: str) -> float:
    return float(argv[argv.index(flag) + 1])


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "lighthouse.m4b"
    path.write_bytes(b"not really audio")  # the players here only record what they were given
    return path


# ---------------------------------------------------------------------------- main screen


async def test_chapters_and_overview_show_verified_share_and_flagged_counts() -> None:
    state = verified_state()
    app, _ = _app(state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chapters = app.query_one(ChaptersTable)
        assert {"verified", "flagged"} <= set(chapters.columns)
        cells = {k: (str(chapters.get_cell(k, "verified")), str(chapters.get_cell(k, "flagged"))) for k in "012"}
        # 11 of 12, 12 of 12, 10 of 12: rounded down, so a flagged sentence never shows as 100%
        assert cells == {"0": ("91%", "1"), "1": ("100%", "0"), "2": ("83%", "2")}
        assert chapters.border_subtitle == "3 flagged · f lists them"
    line = progress_line(state).plain
    assert "33/36 verified" in line and "3 flagged" in line


async def test_a_run_that_does_not_verify_has_no_verification_columns() -> None:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, book_events())
    app, _ = _app(state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not {"verified", "flagged"} & set(app.query_one(ChaptersTable).columns)
    assert "verified" not in progress_line(state).plain


async def test_the_columns_appear_with_the_first_checked_unit_and_keep_the_selection() -> None:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, book_events())
    app, _ = _app(state)
    async with app.run_test(size=SIZE) as pilot:
        chapters = app.query_one(ChaptersTable)
        chapters.select_key("1")
        await pilot.pause()
        assert "flagged" not in chapters.columns
        flagged = (ev.FlaggedCheck(1, 2.0, 4.0, 0.3, "missing", 3, "It rang twice.", "It rang."),)
        state.apply(ev.UnitChecked("c0001-u0000", 1, 5, 0, flagged, 2))
        await _settle(pilot, lambda: "flagged" in chapters.columns, "the verification columns")
        assert str(chapters.get_cell("1", "flagged")) == "1" and str(chapters.get_cell("1", "verified")) == "83%"
        assert str(chapters.get_cell("0", "verified")) == "—"  # nothing checked there
        assert chapters.selected_key() == "1"


def test_at_80_columns_the_verification_columns_push_out_words_not_state() -> None:
    shown = ChaptersTable().columns_for(76)
    table = ChaptersTable()
    table.COLUMNS = ChaptersTable.VERIFY_COLUMNS
    verifying = table.columns_for(76)
    assert {"num", "title", "state", "pct", "units", "verified", "flagged"} <= set(verifying)
    assert "words" in shown and "words" not in verifying


async def test_f_is_in_the_footer_help_and_palette() -> None:
    app, _ = _app(verified_state())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer_keys = {key for key, active in app.active_bindings.items() if active.binding.show}
        assert "f" in footer_keys
        assert any(c.help.startswith("List the flagged sentences") for c in app.get_system_commands(app.screen))
    assert any(key == "f" for key, _ in KEY_HELP)


async def test_at_80_columns_every_common_key_fits_the_footer() -> None:
    app, session = _app(verified_state(finished=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer_keys = {key for key, active in app.active_bindings.items() if active.binding.show}
        assert {"r", "R", "p", "d", "o", "f", "s", "q", "question_mark"} <= footer_keys
        assert not {"u", "b"} & footer_keys  # the rarest ones leave the footer, and still work
        app.query_one(WorkersTable).select_key("gpu-a-0")
        await pilot.press("u", "b")
        assert [c for _, c in session.sent] == [cmd.Undrain("gpu-a-0"), cmd.Rebootstrap("gpu-a")]
        await pilot.press("f")
        assert isinstance(app.screen, FlaggedScreen)
        await pilot.press("escape")
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        footer_keys = {key for key, active in app.active_bindings.items() if active.binding.show}
        assert {"u", "b"} <= footer_keys


# ---------------------------------------------------------------------------- the Flagged view


async def test_the_view_lists_every_flagged_sentence_in_book_order() -> None:
    app, _ = _app(verified_state())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, FlaggedScreen)
        table = screen.query_one(FlaggedTable)
        await pilot.pause()
        keys = [table.coordinate_to_cell_key((r, 0)).row_key.value for r in range(table.row_count)]
        assert keys == ["c0000-u0001/2", "c0002-u0000/0", "c0002-u0001/4"]
        rows = [[str(table.get_cell(k, c)) for c in ("chapter", "time", "score", "problem", "takes")] for k in keys]
        assert rows == [["1", "0:00:28.4", "0.41", "missing", "3"], ["3", "0:01:21.2", "0.12", "babble", "3"],
                        ["3", "0:01:55.0", "0.58", "repeat", "2"]]
        assert str(table.get_cell("c0000-u0001/2", "expected")).startswith("The keeper wound the brass clock")
        assert str(table.get_cell("c0000-u0001/2", "heard")) == "The keeper wound the clock at seven."
        await pilot.press("down")
        detail = _shown(screen.query_one("#flagged-detail"))
        assert "Gulls circled the rocks" in detail and "Orange piano" in detail
        await pilot.press("escape")
        assert not isinstance(app.screen, FlaggedScreen)


async def test_worker_text_is_shown_literally() -> None:
    state = verified_state(finished=False)
    odd = (ev.FlaggedCheck(0, 0.5, 2.0, 0.2, "babble", 3, "It rang.", "boom \x1b[2J[red]not a style[/red]\x07"),)
    state.apply(ev.UnitChecked("c0001-u0000", 1, 5, 0, odd, 2))
    app, _ = _app(state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await pilot.pause()
        heard = str(app.screen.query_one(FlaggedTable).get_cell("c0001-u0000/0", "heard"))
    assert heard == "boom [red]not a style[/red]"


def test_the_words_that_differ_are_highlighted() -> None:
    expected, heard = word_diff("The keeper wound the brass clock every evening at seven.",
                                "the keeper wound the clock, at seven")
    marked = [expected.plain[s.start:s.end] for s in expected.spans if s.style == MISSING_STYLE]
    assert marked == ["brass", "every", "evening"]  # case and punctuation are not differences
    assert not heard.spans
    _, heard = word_diff("Nobody came to see it.", "Nobody came to see to see it.")
    assert [heard.plain[s.start:s.end] for s in heard.spans if s.style == EXTRA_STYLE] == ["to", "see"]
    assert word_diff("Yes.", "")[1].plain == "(nothing heard)"


@pytest.mark.parametrize("verifying, text", [(False, "does not verify"), (True, "36 of 36 checked sentences")])
async def test_an_empty_view_says_why(verifying: bool, text: str) -> None:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, book_events())
    if verifying:
        for uid in list(state.units)[:6]:
            state.apply(ev.UnitChecked(uid, state.units[uid].chapter_index, 6, 0))
    app, session = _app(state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await pilot.pause()
        message = _shown(app.screen.query_one("#flagged-empty"))
        assert "No flagged sentences" in message and text in message
        assert not app.screen.query_one(FlaggedTable).display
        await pilot.press("enter", "r")  # nothing selected: nothing played, nothing sent
        assert session.sent == []


async def test_enter_plays_the_sentence_span_of_the_book_with_ffplay(tmp_path, book, monkeypatch) -> None:
    log = tmp_path / "calls"
    recording_player(tmp_path / "bin", "ffplay", log)
    recording_player(tmp_path / "bin", "mpv", tmp_path / "mpv-calls")  # ffplay comes first
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    state = verified_state(str(book))
    flagged = state.flagged_sentences()
    app, _ = _app(state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "enter")
        await _settle(pilot, lambda: len(recorded_calls(log)) == 1, "the first play")
        await pilot.press("down", "enter")
        await _settle(pilot, lambda: len(recorded_calls(log)) == 2, "the second play")
        await app.workers.wait_for_complete()
        notices = _notices(app)
    for argv, sentence in zip(recorded_calls(log), flagged[:2], strict=True):
        assert argv[-1] == str(book) and "-nodisp" in argv and "-autoexit" in argv
        assert _value(argv, "-ss") == pytest.approx(sentence.book_seconds, abs=1e-3)
        assert _value(argv, "-t") == pytest.approx(sentence.seconds, abs=1e-3)
    assert [_value(a, "-ss") for a in recorded_calls(log)] == [28.4, 81.25]
    assert not (tmp_path / "mpv-calls").exists()
    assert any(n.startswith("Playing chapter 1 at 0:00:28.4") and "ffplay" in n for n in notices)


def _player_script(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
    (bin_dir / name).chmod(0o755)


async def test_a_player_that_fails_is_reported_with_the_command_line(tmp_path, book, monkeypatch) -> None:
    # ffplay exits 0 when it cannot open the audio device; what it says on stderr is the failure
    _player_script(tmp_path / "bin", "ffplay", "echo 'audio open failed' >&2")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    app, _ = _app(verified_state(str(book)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "enter")
        await _settle(pilot, lambda: any(n.startswith("Could not play it") for n in _notices(app)), "the failure")
        failure = next(n for n in _notices(app) if n.startswith("Could not play it"))
    assert "audio open failed" in failure and f"-ss 28.400 -t 3.500 {book}" in failure


async def test_closing_the_view_stops_what_it_plays(tmp_path, book, monkeypatch) -> None:
    started = tmp_path / "started"
    _player_script(tmp_path / "bin", "ffplay", f"echo > '{started}'\nexec {shutil.which('sleep')} 60")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    app, _ = _app(verified_state(str(book)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "enter")
        await _settle(pilot, started.exists, "the player to start")
        begun = time.monotonic()
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        assert time.monotonic() - begun < 10


async def test_without_a_player_the_command_line_to_play_it_is_shown(tmp_path, book, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    app, _ = _app(verified_state(str(book)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "down", "down", "enter")
        await pilot.pause()
        line = f"ffplay -nodisp -autoexit -loglevel error -ss 115.000 -t 2.200 {book}"
        assert any(line in n and "No player found" in n for n in _notices(app))
        assert line in _shown(app.screen.query_one("#flagged-detail"))


async def test_while_the_run_goes_on_the_book_is_not_written_yet(tmp_path, book, monkeypatch) -> None:
    log = tmp_path / "calls"
    recording_player(tmp_path / "bin", "ffplay", log)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    app, _ = _app(verified_state(str(book), finished=False))  # a book from an earlier run is on disk
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "enter")
        await pilot.pause()
        assert any("not written yet" in n for n in _notices(app))
    assert recorded_calls(log) == []


async def test_r_sends_the_sentence_unit_again_while_the_run_goes_on() -> None:
    state = verified_state(finished=False)
    app, session = _app(state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "down", "r")
        assert [c for _, c in session.sent] == [cmd.RequeueUnit("c0002-u0000")]
        assert any(n.startswith("Speaking unit 3.1 again") for n in _notices(app))
        # the core reopens the unit: its sentences are no longer flagged until it is heard again
        state.apply(ev.ChapterReopened(2, ("c0002-u0000",), redo=True))
        table = app.screen.query_one(FlaggedTable)
        await _settle(pilot, lambda: table.row_count == 2, "the row to leave")


async def test_after_the_run_r_sends_nothing() -> None:
    app, session = _app(verified_state())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "r")
        assert session.sent == []
        assert any("run is over" in n for n in _notices(app))


# ---------------------------------------------------------------------------- players and files


def _which(*names: str):
    return lambda name: f"/usr/bin/{name}" if name in names else None


def test_players_in_order_and_paplay_only_with_a_cut() -> None:
    span = Span("/b/book.m4b", 28.4, 3.5)
    ffplay = find_playback(span, _which("ffplay", "mpv", "paplay", "ffmpeg"))
    assert ffplay is not None and ffplay.player == "ffplay" and len(ffplay.commands) == 1
    mpv = find_playback(span, _which("mpv", "paplay", "ffmpeg"))
    assert mpv is not None and mpv.commands == (("/usr/bin/mpv", "--no-video", "--no-terminal", "--start=28.400",
                                                 "--length=3.500", "/b/book.m4b"),)
    paplay = find_playback(span, _which("paplay", "ffmpeg"))
    assert paplay is not None and paplay.temporary is not None
    cut, play = paplay.commands
    assert cut[0] == "/usr/bin/ffmpeg" and cut[cut.index("-ss") + 1] == "28.400" and cut[-1] == paplay.temporary
    assert play == ("/usr/bin/paplay", paplay.temporary)
    assert find_playback(span, _which("paplay")) is None  # cannot seek and nothing to cut with
    assert command_line(Span("/b/my book.m4b", 1, 2)) == \
        "ffplay -nodisp -autoexit -loglevel error -ss 1.000 -t 2.000 '/b/my book.m4b'"


async def test_paplay_plays_a_cut_span_and_the_cut_is_removed(tmp_path, book, monkeypatch) -> None:
    from tui.dashboard.playback import Player

    log = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    recording_player(bin_dir, "paplay", log)
    (bin_dir / "ffmpeg").write_text("#!/bin/sh\nfor last; do :; done\nprintf 'RIFF' > \"$last\"\n")
    (bin_dir / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    playback = find_playback(Span(str(book), 81.25, 3.5))
    assert playback is not None and playback.player == "paplay"
    assert Player().run(playback) == ""
    assert recorded_calls(log) == [[playback.temporary]]
    assert not os.path.exists(playback.temporary)


@pytest.mark.parametrize("outputs, reason", [((), "without writing the book"), (("/gone/book.m4b",), "no longer")])
def test_a_book_that_is_not_there_is_not_played(tmp_path, book, outputs, reason) -> None:
    from tui.dashboard.playback import NotPlayable

    state = verified_state(str(book), finished=False)  # a book from an earlier run is at the output path
    state.apply(ev.RunFinished(ok=False, outputs=outputs, audio_seconds=0.0, wall_seconds=1.0, units_total=6,
                               units_synthesized=0, units_reused=0, quarantined=(), outcome="aborted"))
    with pytest.raises(NotPlayable, match=reason):
        span_of(state, state.flagged_sentences()[0])


def test_a_split_book_plays_from_the_chapter_file(tmp_path) -> None:
    files = [tmp_path / f"0{i} - chapter.m4b" for i in (1, 2, 3)]
    for f in files:
        f.write_bytes(b"x")
    state = verified_state(str(tmp_path / "lighthouse.m4b"), finished=False)
    state.apply(ev.RunFinished(ok=True, outputs=tuple(map(str, files)) + (str(tmp_path / "01 - chapter.vtt"),),
                               audio_seconds=120.0, wall_seconds=1.0, units_total=6, units_synthesized=6,
                               units_reused=0, quarantined=()))
    third = state.flagged_sentences()[2]  # chapter 3, 115 s into the book, 80 s of chapters before it
    span = span_of(state, third)
    assert span.path == str(files[2]) and span.start == pytest.approx(35.0) and span.seconds == pytest.approx(2.2)
