"""The command line: help, version, chapter listing, and one-line errors with exit 2 on bad input."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui import __version__
from tui.cli import cli
from tui.sample import SAMPLE_CHAPTERS


def _run(*args: str) -> "object":
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _one_line_error(result) -> str:
    err = result.stderr.strip()
    assert err.count("\n") == 0, err
    assert "Traceback" not in result.output + err
    assert err.startswith("e2a-tui: error: ")
    return err


def test_version_and_help() -> None:
    assert __version__ in _run("--version").output
    result = _run("--help")
    assert result.exit_code == 0
    for word in ("convert", "bootstrap", "status", "--sample"):
        assert word in result.output
    convert_help = _run("convert", "--help").output
    for option in ("--no-tui", "--workers", "--inventory", "--chapters", "--list-chapters", "--split-chapters"):
        assert option in convert_help


def test_list_chapters_of_sample(sample_epub: Path) -> None:
    result = _run(str(sample_epub), "--list-chapters")
    assert result.exit_code == 0, result.output
    for title, _ in SAMPLE_CHAPTERS:
        assert title in result.output
    assert "Copyright" not in result.output
    result = _run(str(sample_epub), "--list-chapters", "--chapters", "2")
    assert SAMPLE_CHAPTERS[1][0] in result.output and SAMPLE_CHAPTERS[0][0] not in result.output


def test_missing_book_is_one_line_error(tmp_path: Path) -> None:
    result = _run(str(tmp_path / "nope.epub"))
    assert result.exit_code == 2
    assert "no such file" in _one_line_error(result)


def test_not_a_zip_epub_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.epub"
    bad.write_bytes(b"this is not a zip file at all")
    result = _run(str(bad), "--list-chapters")
    assert result.exit_code == 2
    _one_line_error(result)


def test_bad_chapter_selection(sample_epub: Path) -> None:
    result = _run(str(sample_epub), "--list-chapters", "--chapters", "7-2")
    assert result.exit_code == 2
    _one_line_error(result)


@pytest.mark.parametrize("spec", ["nohostport", "host:notaport", "host:99999"])
def test_bad_worker_list(sample_epub: Path, tmp_path: Path, spec: str) -> None:
    result = _run(str(sample_epub), "-o", str(tmp_path / "x.m4b"), "--workers", spec)
    assert result.exit_code == 2
    assert "worker" in _one_line_error(result)


def test_unreachable_workers_exit_2(sample_epub: Path, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends
    result = _run(str(sample_epub), "-o", str(tmp_path / "x.m4b"), "--workers", f"127.0.0.1:{port}")
    assert result.exit_code == 2
    assert "health" in _one_line_error(result)


def test_worker_nodes_env_is_honoured(sample_epub: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WORKER_NODES", "broken-entry")
    result = _run(str(sample_epub), "-o", str(tmp_path / "x.m4b"))
    assert result.exit_code == 2
    assert "broken-entry" in _one_line_error(result)


def test_bad_bitrate_fails_before_any_worker_starts(sample_epub: Path, tmp_path: Path) -> None:
    result = _run(str(sample_epub), "-o", str(tmp_path / "x.m4b"), "--bitrate", "lots", "--workers", "127.0.0.1:9")
    assert result.exit_code == 2
    assert "bit rate" in _one_line_error(result)


def test_progress_port_in_use_is_one_line_error(sample_epub: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run(str(sample_epub), "-o", str(tmp_path / "x.m4b"), "--workers", "127.0.0.1:9",
                      "--serve-progress", str(port))
    assert result.exit_code == 2
    assert f"127.0.0.1:{port}" in _one_line_error(result)


def test_unreadable_voice_sample_fails_before_any_worker_starts(sample_epub: Path, tmp_path: Path) -> None:
    result = _run("--no-tui", str(sample_epub), "-o", str(tmp_path / "x.m4b"), "--voice-sample",
                  str(tmp_path / "missing.wav"), "--workers", "127.0.0.1:9")
    assert result.exit_code == 2
    assert "cannot read voice sample" in _one_line_error(result)
    assert _run("--no-tui", str(sample_epub), "--request-overhead", "-1").exit_code == 2
