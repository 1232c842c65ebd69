"""Fixtures shared across the suite: paths to test books and the bundled sample."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_BOOKS = REPO.parent / "shared" / "books"


@pytest.fixture(scope="session")
def shared_books() -> Path:
    """``../shared/books`` (real EPUBs written elsewhere); tests skip when it is absent."""
    if not SHARED_BOOKS.is_dir():
        pytest.skip("../shared/books is not present")
    return SHARED_BOOKS


@pytest.fixture(scope="session")
def sample_epub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample book, written as a real EPUB."""
    from tui.sample import write_sample_epub

    return write_sample_epub(tmp_path_factory.mktemp("sample") / "sample.epub")


@dataclass(frozen=True)
class CliRun:
    """One finished ``e2a-tui --no-tui`` run: its command line, exit status, output and the book it wrote."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    output: Path


@pytest.fixture(scope="session")
def local_cli_run(tmp_path_factory: pytest.TempPathFactory, sample_epub: Path) -> CliRun:
    """An undisturbed CLI run of the sample on 2 local Piper workers with 200-character units, made once
    per session: test_run_e2e.py checks the run itself; test_faults.py and test_ray_cluster.py compare
    the books they end up with against its chapters (``local_reference``). Read it, never write to it."""
    import subprocess
    import sys

    output = tmp_path_factory.mktemp("local-cli-run") / "sample.m4b"
    argv = [sys.executable, "-m", "tui", "--no-tui", str(sample_epub), "-o", str(output), "--local-workers", "2",
            "--unit-chars", "200"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    return CliRun(argv, done.returncode, done.stdout, done.stderr, output)


@pytest.fixture(scope="session")
def local_reference(local_cli_run: CliRun) -> list[tuple[str, float, float]]:
    """Chapter spans of ``local_cli_run``'s book: what an undisturbed run of the sample gives."""
    from tests.support.probe import chapter_spans, ffprobe

    assert local_cli_run.returncode == 0, local_cli_run.stdout[-2000:] + local_cli_run.stderr[-2000:]
    return chapter_spans(ffprobe(local_cli_run.output))
