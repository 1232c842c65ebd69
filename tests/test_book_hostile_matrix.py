"""Every shared EPUB and every hostile file: read and planned into units, or refused in one line,
in bounded time and memory, writing nothing anywhere; and the same through ``python -m tui``.

Each file is read in a fresh process (tests/support/ingest_probe.py) so its peak memory is its own;
HOME, TMPDIR and the working folder are empty folders that must still be empty afterwards.
Bounds are generous safety nets against hangs and inflation, not speed claims.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.book_helpers import SHARED_BOOKS
from tests.support.hostile_books import HOSTILE
from tests.support.worker_helpers import REPO_ROOT

MAX_SECONDS = 150
MAX_RSS_GROWTH_MB = 512
#: files whose danger is size: reading them must not come near it
SMALL_FOOTPRINT = {"zip-bomb": 64, "200mb-image": 64}
SLOW = {"10000-chapters", "5mb-paragraph"}

SHARED = sorted(SHARED_BOOKS.glob("*.epub")) + sorted((SHARED_BOOKS / "w3c").glob("*.epub"))


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, (file_name, make, _) in HOSTILE.items():
        make(folder / file_name)
    return folder


def _sandbox(tmp_path: Path) -> tuple[dict[str, str], list[Path]]:
    folders = [tmp_path / "cwd", tmp_path / "home", tmp_path / "tmp"]
    for folder in folders:
        folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("E2A_", "WORKER_"))}
    env.update(HOME=str(folders[1]), TMPDIR=str(folders[2]), PYTHONPATH=str(REPO_ROOT))
    return env, folders


def _run(args: list[str], tmp_path: Path, book: Path) -> subprocess.CompletedProcess:
    env, folders = _sandbox(tmp_path)
    before = sorted(os.listdir(book.parent))
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=MAX_SECONDS + 60,
                            cwd=folders[0], env=env)
    for folder in folders:
        assert not list(folder.iterdir()), f"{folder.name}: {list(folder.iterdir())} written"
    assert sorted(os.listdir(book.parent)) == before, "something was written next to the book"
    return result


def _probe(book: Path, tmp_path: Path) -> dict:
    result = _run([str(REPO_ROOT / "tests" / "support" / "ingest_probe.py"), str(book)], tmp_path, book)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout[-2000:]
    report = json.loads(lines[0])
    print(f"{book.name}: ok={report['ok']} {report['seconds']:.2f} s, peak RSS {report['peak_rss_mb']:.0f} MB "
          f"(+{report['rss_growth_mb']:.0f} MB)")
    assert report["seconds"] < MAX_SECONDS
    assert report["rss_growth_mb"] < MAX_RSS_GROWTH_MB
    if report["ok"]:
        assert report["chapters"] >= 1 and report["units"] >= 1
    else:
        assert report["error"] and "\n" not in report["error"] and "Traceback" not in report["error"]
    return report


def _hostile_params():
    for name in HOSTILE:
        marks = [pytest.mark.slow] if name in SLOW else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_hostile_params()))
def test_hostile_file_is_read_safely_or_refused_in_one_line(name, hostile_dir, tmp_path):
    file_name, _, readable = HOSTILE[name]
    report = _probe(hostile_dir / file_name, tmp_path)
    assert report["ok"] is readable, report.get("error")
    if name in SMALL_FOOTPRINT:
        assert report["rss_growth_mb"] < SMALL_FOOTPRINT[name]
    text = "\n".join(report.get("texts", []))
    assert "lol" not in text and "root:" not in text  # no entity expanded, no local file read
    assert "Escaped member" not in text and "Absolute member" not in text
    assert not Path("/tmp/e2a-escaped.xhtml").exists()
    if name == "10000-chapters":
        assert report["chapters"] == 10_000
    if name == "5mb-paragraph":
        assert report["chars"] > 4_900_000 and report["units"] > 100  # split, not sent as one unit


@pytest.mark.parametrize("book", SHARED, ids=[p.name for p in SHARED])
def test_shared_book_is_read_or_refused_in_bounds(book, tmp_path):
    _probe(book, tmp_path)


@pytest.mark.parametrize("name", [n for n in HOSTILE if n not in SLOW])
def test_cli_lists_chapters_or_exits_2_with_one_line(name, hostile_dir, tmp_path):
    file_name, _, readable = HOSTILE[name]
    book = hostile_dir / file_name
    result = _run(["-m", "tui", str(book), "--list-chapters"], tmp_path, book)
    assert "Traceback" not in result.stdout + result.stderr
    if readable:
        assert result.returncode == 0, result.stderr
        assert "Total (" in result.stdout
    else:
        assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("e2a-tui: error: ") and file_name in lines[0], lines
