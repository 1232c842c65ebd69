"""The project wheel hosts install: built from the source tree, cached by content, or repacked from an install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.ssh.cli import bootstrap_command
from tui.ssh.wheel import build_from_source, find_source_root, repack_installed

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def source_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("E2A_CACHE_DIR", str(tmp_path / "cache"))
    tree = tmp_path / "src"
    tree.mkdir()
    shutil.copy(REPO / "pyproject.toml", tree)
    for package in ("tui", "remote_worker"):
        shutil.copytree(REPO / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_source_root_is_found_from_the_package() -> None:
    assert find_source_root() == REPO


def test_source_wheel_is_cached_by_content(source_copy: Path) -> None:
    first = build_from_source(source_copy)
    names = _names(first.path)
    assert {"tui/ssh/remote_agent.py", "remote_worker/cli.py", "tui/ssh/cli.py"} <= names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(first.path) as zf:
        assert "e2a-worker = remote_worker.cli:main" in zf.read(entry_points).decode()
    again = build_from_source(source_copy)
    assert (again.path, again.sha256) == (first.path, first.sha256)
    (source_copy / "tui" / "ssh" / "wheel.py").write_text(
        (source_copy / "tui" / "ssh" / "wheel.py").read_text() + "\n# changed\n")
    changed = build_from_source(source_copy)
    assert changed.sha256 != first.sha256 and changed.path != first.path
    assert source_copy.joinpath("build").exists() is False, "the source tree is not written to"


def test_installed_files_are_repacked_into_an_installable_wheel(source_copy: Path, tmp_path: Path) -> None:
    built = build_from_source(source_copy)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target",
                    str(target), str(built.path)], check=True)
    dist = next(d for d in metadata.distributions(path=[str(target)]) if d.metadata["Name"] == "e2a-tui")
    repacked = repack_installed(dist)
    assert repacked.origin == "installed" and repacked.name == built.name
    assert _names(repacked.path) == _names(built.path)
    assert repack_installed(dist).sha256 == repacked.sha256, "same files, same bytes"
    again = tmp_path / "site2"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target",
                    str(again), str(repacked.path)], check=True)
    for rel in ("tui/ssh/remote_agent.py", "remote_worker/cli.py"):
        assert (again / rel).read_bytes() == (target / rel).read_bytes()


def test_bootstrap_refuses_a_wheelhouse_without_wheels(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.toml"
    inventory.write_text('[[hosts]]\nname = "a"\naddress = "192.0.2.1"\n')
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder, reason in ((empty, "holds no .whl files"), (tmp_path / "absent", "not a directory")):
        result = CliRunner().invoke(bootstrap_command, ["-i", str(inventory), "--wheelhouse", str(folder)])
        assert result.exit_code == 2
        assert result.output.strip() == f"error: --wheelhouse {folder}: {reason}"
