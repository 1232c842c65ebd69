"""The dashboard in a real terminal (tmux), the start screen, and the core with textual absent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run_blocked_textual(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """``python -m tui ARGS`` in a process where any import of textual fails."""
    code = textwrap.dedent(f"""
        import runpy, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "textual" or name.startswith("textual."):
                    raise ImportError("blocked: " + name)
                return None
        sys.meta_path.insert(0, Block())
        sys.argv = ["e2a-tui", *{args!r}]
        try:
            runpy.run_module("tui", run_name="__main__")
        except SystemExit as exc:
            leaked = [m for m in sys.modules if m == "textual" or m.startswith("textual.")]
            assert not leaked, leaked
            raise
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.mark.slow
def test_whole_conversion_runs_with_textual_absent(tmp_path: Path, sample_epub: Path) -> None:
    output = tmp_path / "plain.m4b"
    proc = _run_blocked_textual(["--no-tui", str(sample_epub), "-o", str(output), "--local-workers", "1",
                                 "--unit-chars", "400"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert output.stat().st_size > 0
    assert f"Wrote {output}" in proc.stdout


def test_bad_input_is_one_line_without_a_terminal(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tui", str(tmp_path / "missing.epub")], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


async def test_start_screen_picks_a_book_format_and_chapters(tmp_path: Path, sample_epub: Path) -> None:
    from textual.widgets import Input, Select

    from tui.dashboard.start_app import BookTree, StartApp

    (tmp_path / "books").mkdir()
    book = tmp_path / "books" / "sample.epub"
    shutil.copy(sample_epub, book)
    (tmp_path / "books" / "cover.png").write_bytes(b"not a book")
    (tmp_path / "books" / ".hidden.epub").write_bytes(b"")
    app = StartApp(tmp_path / "books")
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(BookTree)
        await pilot.pause()
        deadline = time.monotonic() + 20
        while not tree.root.children and time.monotonic() < deadline:  # the tree loads in a worker
            await pilot.pause(0.05)
        assert [node.label.plain for node in tree.root.children] == ["sample.epub"]
        app.action_start()  # nothing picked yet: refused, the app stays
        assert app.return_value is None
        tree.select_node(tree.root.children[0])
        deadline = time.monotonic() + 20
        while app.chapter_count == 0 and time.monotonic() < deadline:  # the listing is read in a thread
            await pilot.pause(0.05)
        assert app.chapter_count == 3
        app.query_one("#chapter-spec", Input).value = "9"
        app.action_start()  # chapter 9 of 3: refused with a message
        assert app.return_value is None
        app.query_one("#chapter-spec", Input).value = "2-3"
        app.query_one("#format", Select).value = "mp3"
        app.action_start()
    choice = app.return_value
    assert choice is not None and choice.book == book and choice.fmt == "mp3" and choice.chapters == "2-3"
    assert choice.inventory is None


async def test_start_screen_lists_every_format_the_book_loader_reads(tmp_path: Path) -> None:
    from tui.dashboard.start_app import BookTree, StartApp

    for name in ("novel.markdown", "letters.rtf", "story.fbz", "notes.text", "cover.png", "run.log"):
        (tmp_path / name).write_bytes(b"")
    app = StartApp(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(BookTree)
        deadline = time.monotonic() + 20
        while not tree.root.children and time.monotonic() < deadline:  # the tree loads in a worker
            await pilot.pause(0.05)
        names = {node.label.plain for node in tree.root.children}
    assert names == {"novel.markdown", "letters.rtf", "story.fbz", "notes.text"}


def _tmux(server: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True, timeout=30).stdout


def _open_terminal(server: str, command: str, width: int = 120, height: int = 40) -> None:
    """A detached tmux session ``dash`` of ``width`` x ``height`` running ``command`` (its own server, no config)."""
    subprocess.run(["tmux", "-L", server, "-f", "/dev/null", "new-session", "-d", "-s", "dash", "-x", str(width),
                    "-y", str(height), command], check=True, timeout=30)


def _wait_screen(server: str, predicate, what: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux(server, "capture-pane", "-p", "-t", "dash")
        if predicate(screen):
            return screen
        time.sleep(0.2)  # a real terminal: polling the pane is the only way to look
    raise AssertionError(f"timed out waiting for {what}; screen was:\n{screen}")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_dashboard_in_a_real_terminal_pauses_and_quits(tmp_path: Path, sample_epub: Path) -> None:
    server = f"e2a-dash-{os.getpid()}"
    rc_file = tmp_path / "rc"
    output = tmp_path / "term.m4b"
    # COLUMNS/LINES from the calling shell would override the pane's real size
    command = (f"cd {REPO} && env -u COLUMNS -u LINES {sys.executable} -m tui {sample_epub} -o {output} "
               f"--local-workers 2 --unit-chars 120; echo $? > {rc_file}; sleep 60")
    _open_terminal(server, command, 120, 40)
    try:
        screen = _wait_screen(server, lambda s: "local-1" in s and "local-2" in s and "[running" in s,
                              "the tables with both workers")
        assert "Workers" in screen and "Chapters" in screen and "A Visitor from the Mainland" in screen
        _tmux(server, "send-keys", "-t", "dash", "p")
        _wait_screen(server, lambda s: "running, paused" in s and "dispatch paused" in s, "the pause")
        _tmux(server, "send-keys", "-t", "dash", "q")
        _wait_screen(server, lambda s: "Quit now?" in s, "the quit question")
        _tmux(server, "send-keys", "-t", "dash", "y")
        deadline = time.monotonic() + 120
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rc_file.exists(), "the app did not exit"
        screen = _tmux(server, "capture-pane", "-p", "-t", "dash")
    finally:
        _tmux(server, "kill-server")
    assert rc_file.read_text().strip() == "130", screen
    assert "Aborted" in screen and "rerun the same command to resume" in screen
    assert "Traceback" not in screen


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_bare_command_on_a_terminal_opens_the_start_screen_and_starts(tmp_path: Path, sample_epub: Path) -> None:
    server = f"e2a-start-{os.getpid()}"
    shutil.copy(sample_epub, tmp_path / "book.epub")
    rc_file = tmp_path / "rc"
    command = (f"cd {tmp_path} && env -u COLUMNS -u LINES PYTHONPATH={REPO} {sys.executable} -m tui; "
               f"echo $? > {rc_file}; sleep 60")
    _open_terminal(server, command, 120, 40)
    try:
        _wait_screen(server, lambda s: "Choose a book" in s and "book.epub" in s, "the start screen")
        _tmux(server, "send-keys", "-t", "dash", "Down", "Enter")  # the tree's first file
        _wait_screen(server, lambda s: "A Visitor from the Mainland" in s, "the chapter listing")
        _tmux(server, "send-keys", "-t", "dash", "C-s")
        dashboard = _wait_screen(server, lambda s: "Workers" in s and "local-1" in s, "the dashboard")
        assert "The Lighthouse Keeper's Clock" in dashboard and "/book.m4b" in dashboard
        _tmux(server, "send-keys", "-t", "dash", "q")
        _wait_screen(server, lambda s: "Quit now?" in s, "the quit question")
        _tmux(server, "send-keys", "-t", "dash", "y")
        deadline = time.monotonic() + 120
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        screen = _tmux(server, "capture-pane", "-p", "-t", "dash")
    finally:
        _tmux(server, "kill-server")
    assert rc_file.exists(), screen
    assert rc_file.read_text().strip() == "130", screen
    assert "Traceback" not in screen


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_bootstrap_on_a_terminal_shows_hosts_live_and_exits_1_on_failure(tmp_path: Path) -> None:
    server = f"e2a-boot-{os.getpid()}"
    (tmp_path / "inv.toml").write_text('[defaults]\nuser = "nobody"\nport = 1\n\n'
                                       '[[hosts]]\nname = "deadhost"\naddress = "127.0.0.1"\n')
    rc_file = tmp_path / "rc"
    command = (f"cd {tmp_path} && env -u COLUMNS -u LINES PYTHONPATH={REPO} {sys.executable} -m tui bootstrap "
               f"-i inv.toml; echo $? > {rc_file}; sleep 60")
    _open_terminal(server, command, 100, 30)
    try:
        view = _wait_screen(server, lambda s: "Press q to quit" in s, "the bootstrap to end")
        assert "Bootstrapping hosts" in view and "deadhost" in view and "unreachable" in view
        assert "connection refused" in view
        _tmux(server, "send-keys", "-t", "dash", "q")
        deadline = time.monotonic() + 60
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        screen = _tmux(server, "capture-pane", "-p", "-t", "dash")
    finally:
        _tmux(server, "kill-server")
    assert rc_file.read_text().strip() == "1", screen
    assert "RECAP" in screen and "unreachable=1" in screen and "Traceback" not in screen


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_flagged_view_in_a_real_terminal_plays_the_selected_sentence(tmp_path: Path) -> None:
    from tests.support.players import recorded_calls, recording_player

    server = f"e2a-flag-{os.getpid()}"
    book = tmp_path / "book.m4b"
    book.write_bytes(b"not really audio")
    log = tmp_path / "calls"
    recording_player(tmp_path / "bin", "ffplay", log)
    rc_file = tmp_path / "rc"
    # a recorded verified run; the stand-in ffplay comes first on PATH
    command = (f"cd {REPO} && env -u COLUMNS -u LINES PATH={tmp_path / 'bin'}:{os.environ.get('PATH', '')} "
               f"{sys.executable} -m tests.support.flagged_replay {book}; echo $? > {rc_file}; sleep 60")
    _open_terminal(server, command, 120, 40)
    try:
        main = _wait_screen(server, lambda s: "3 flagged · f lists them" in s, "the Chapters table", 60)
        assert "Verif" in main and "83%" in main and "33/36 verified" in main
        _tmux(server, "send-keys", "-t", "dash", "f")
        view = _wait_screen(server, lambda s: "Flagged sentences" in s and "0:01:55.0" in s, "the Flagged view", 30)
        assert "0:00:28.4" in view and "missing" in view and "babble" in view
        _tmux(server, "send-keys", "-t", "dash", "Down", "Enter")
        _wait_screen(server, lambda s: "Playing chapter 3" in s, "the notice of what plays", 30)
        deadline = time.monotonic() + 30
        while not recorded_calls(log) and time.monotonic() < deadline:
            time.sleep(0.1)
        _tmux(server, "send-keys", "-t", "dash", "Escape")
        _wait_screen(server, lambda s: "Flagged sentences:" in s, "the main screen again", 30)
        _tmux(server, "send-keys", "-t", "dash", "q")
        deadline = time.monotonic() + 30
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        screen = _tmux(server, "capture-pane", "-p", "-t", "dash")
    finally:
        _tmux(server, "kill-server")
    calls = recorded_calls(log)
    assert len(calls) == 1 and calls[0][-1] == str(book), calls
    argv = calls[0]
    assert argv[argv.index("-ss") + 1] == "81.250" and argv[argv.index("-t") + 1] == "3.500"
    assert rc_file.read_text().strip() == "0", screen
    assert "Traceback" not in screen
