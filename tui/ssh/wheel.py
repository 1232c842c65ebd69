"""The project wheel that remote hosts install, made from the running installation.

Hosts must run the same code as the orchestrator that talks to them, so the
wheel is built from whatever is running: the source tree when there is one,
else the installed files repacked. Wheels are cached under a digest of their
inputs, so an unchanged installation yields the same file (and the same
sha256) every time, which is what lets a second bootstrap upload nothing.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Iterable, Optional

from ..hashing import file_sha256

__all__ = [
    "ProjectWheel",
    "WheelBuildError",
    "project_wheel",
    "find_source_root",
    "build_from_source",
    "repack_installed",
    "cache_dir",
]

DIST_NAME = "e2a-tui"
_SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", "build", "dist", "tests", "bench"}
_ROOT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in")


class WheelBuildError(Exception):
    """The project wheel could not be made; ``str()`` is one line."""


@dataclass(frozen=True)
class ProjectWheel:
    path: Path
    sha256: str
    origin: str  # "source" or "installed"

    @property
    def name(self) -> str:
        return self.path.name


def cache_dir() -> Path:
    """``$E2A_CACHE_DIR`` or the XDG cache; one folder per input digest below ``wheels/``."""
    env = os.environ.get("E2A_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "e2a-tui"


def find_source_root(start: Optional[Path] = None) -> Optional[Path]:
    """The directory holding this project's pyproject.toml above the ``tui`` package, if any."""
    here = (start or Path(__file__)).resolve()
    for parent in here.parents:
        pyproject = parent / "pyproject.toml"
        if pyproject.is_file() and (parent / "tui" / "__init__.py").is_file():
            return parent
    return None


def _source_files(root: Path) -> list[Path]:
    """Files the build reads: root metadata files, README/LICENSE, and every top-level package."""
    files = [root / n for n in _ROOT_FILES if (root / n).is_file()]
    files += sorted(p for p in root.iterdir() if p.is_file() and p.name.upper().startswith(("README", "LICENSE")))
    for top in sorted(root.iterdir()):
        is_package = top.is_dir() and (top / "__init__.py").is_file()
        if not is_package or top.name in _SKIP_DIRS or top.name.startswith("."):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if not name.endswith((".pyc", ".pyo")):
                    files.append(Path(dirpath) / name)
    return files


def _digest(root: Path, files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _cached(key: str) -> Optional[Path]:
    folder = cache_dir() / "wheels" / key[:24]
    found = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    return found[0] if len(found) == 1 else None


def _store(key: str, built: Path) -> Path:
    """Move a fresh wheel into the cache atomically (two builds racing both end with one file)."""
    folder = cache_dir() / "wheels" / key[:24]
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".stage-", dir=folder.parent))
    shutil.copy2(built, staging / built.name)
    try:
        staging.rename(folder)
    except OSError:  # another build won; keep its file
        shutil.rmtree(staging, ignore_errors=True)
    found = _cached(key)
    if found is None:
        raise WheelBuildError(f"wheel cache {folder} holds an unexpected set of files")
    return found


def _pip_wheel(tree: Path, out: Path, *, isolated: bool) -> tuple[Optional[Path], str]:
    """Run ``pip wheel --no-deps`` on ``tree``; the wheel, or None and the last lines of pip's output."""
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
            "-w", str(out), str(tree)]
    if not isolated:
        argv.insert(5, "--no-build-isolation")
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
    if proc.returncode == 0 and len(wheels) == 1:
        return wheels[0], ""
    lines = [ln.strip() for ln in proc.stdout.splitlines() if "error" in ln.lower() and ln.strip()]
    return None, (lines[-1] if lines else f"pip exited with {proc.returncode}")


def build_from_source(root: Path) -> ProjectWheel:
    """``pip wheel --no-deps --no-build-isolation`` on a copy of the source tree (no writes to it)."""
    files = _source_files(root)
    key = "src-" + _digest(root, files)
    cached = _cached(key)
    if cached is None:
        with tempfile.TemporaryDirectory(prefix="e2a-wheel-") as tmp:
            tree = Path(tmp) / "src"
            for path in files:
                dest = tree / path.relative_to(root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
            if not any((tree / n).exists() for n in ("README.md", "README.rst", "README")):
                (tree / "README.md").write_text("e2a-tui\n")  # pyproject names a readme
            wheel, problem = _pip_wheel(tree, Path(tmp) / "out", isolated=False)
            if wheel is None:
                # the running environment lacks the build backend; let pip fetch it in isolation
                wheel, second = _pip_wheel(tree, Path(tmp) / "out2", isolated=True)
                if wheel is None:
                    raise WheelBuildError(f"building the project wheel from {root} failed: {problem} / {second}")
            cached = _store(key, wheel)
    return ProjectWheel(cached, file_sha256(cached), "source")


def _record_line(arcname: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [arcname, f"sha256={digest}", str(len(data))]


def repack_installed(dist: Optional[metadata.Distribution] = None) -> ProjectWheel:
    """Rebuild a wheel from an installed (non-editable) distribution's RECORD.

    Used when the orchestrator itself was installed from a wheel and no source
    tree exists; the installed files are exactly what the hosts should run.
    """
    dist = dist or metadata.distribution(DIST_NAME)
    files = [f for f in (dist.files or []) if not str(f).startswith("..")]
    dist_info = next((f.parts[0] for f in files if f.parts[0].endswith(".dist-info")), None)
    if dist_info is None:
        raise WheelBuildError(f"{DIST_NAME} is installed without a .dist-info RECORD; reinstall it from a wheel")
    skip = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    chosen = []
    for f in sorted(files, key=str):
        parts = f.parts
        if parts[-1].endswith((".pyc", ".pyo")) or "__pycache__" in parts:
            continue
        if parts[0] == dist_info and parts[-1] in skip:
            continue
        if parts[0] != dist_info and parts[0] not in ("tui", "remote_worker"):
            continue  # editable-install hooks and the like are not part of the package
        chosen.append(f)
    if not any(f.parts[0] == "tui" for f in chosen):
        raise WheelBuildError(f"{DIST_NAME} is installed in editable mode but its source tree was not found")
    blobs = [(f.as_posix(), Path(f.locate()).read_bytes()) for f in chosen]
    digest = hashlib.sha256()
    for arcname, data in blobs:
        digest.update(arcname.encode() + b"\0" + data + b"\0")
    key = "inst-" + digest.hexdigest()
    cached = _cached(key)
    if cached is None:
        name = dist.metadata["Name"].replace("-", "_")
        wheel_name = f"{name}-{dist.version}-py3-none-any.whl"
        with tempfile.TemporaryDirectory(prefix="e2a-wheel-") as tmp:
            target = Path(tmp) / wheel_name
            record = io.StringIO()
            writer = csv.writer(record, lineterminator="\n")
            # fixed timestamps: the same files give the same bytes
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for arcname, data in blobs:
                    zf.writestr(zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0)), data)
                    writer.writerow(_record_line(arcname, data))
                writer.writerow([f"{dist_info}/RECORD", "", ""])
                zf.writestr(zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(1980, 1, 1, 0, 0, 0)),
                            record.getvalue())
            cached = _store(key, target)
    return ProjectWheel(cached, file_sha256(cached), "installed")


def project_wheel() -> ProjectWheel:
    """The wheel of the running installation: built from source if there is a tree, else repacked."""
    root = find_source_root()
    if root is not None:
        return build_from_source(root)
    return repack_installed()
