"""The worker's requirement lists agree with pyproject (one is what hosts get, the other what users get)."""

from __future__ import annotations

import sys

from tests.support.worker_helpers import REPO_ROOT
from remote_worker.requirements import (
    ENGINE_REQUIREMENTS,
    RAY_REQUIREMENTS,
    VERIFY_REQUIREMENTS,
    WORKER_REQUIREMENTS,
    requirements_for,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
_NORMALISE = str.maketrans("", "", " \"'")


def test_every_worker_requirement_is_a_base_dependency():
    base = {d.translate(_NORMALISE) for d in PROJECT["dependencies"]}
    assert {r.translate(_NORMALISE) for r in WORKER_REQUIREMENTS} <= base


def test_orchestrator_only_packages_stay_off_worker_hosts():
    names = " ".join(requirements_for("xtts")).lower()
    for orchestrator_only in ("textual", "asyncssh", "lxml", "ebooklib", "imageio-ffmpeg", "httpx", "rich"):
        assert orchestrator_only not in names


def test_engine_extras_match_pyproject_and_leave_torch_to_the_host():
    extras = PROJECT["optional-dependencies"]
    assert list(ENGINE_REQUIREMENTS["xtts"]) == extras["xtts"]
    assert not any(r.startswith(("torch ", "torch=", "torch>", "torchaudio")) for r in extras["xtts"])
    assert requirements_for("piper") == list(WORKER_REQUIREMENTS)
    assert list(VERIFY_REQUIREMENTS) == extras["verify"]
    assert requirements_for("piper", verify=True) == [*WORKER_REQUIREMENTS, *VERIFY_REQUIREMENTS]
    assert list(RAY_REQUIREMENTS) == extras["ray"]  # what Dockerfile.worker's EXTRAS=ray installs


def test_licence_is_gpl3_or_later_and_ebooklib_is_test_only():
    assert PROJECT["license"] == "GPL-3.0-or-later"
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO_ROOT / "LICENSE").read_text()[:200]
    assert not any(d.startswith("ebooklib") for d in PROJECT["dependencies"])
    assert any(d.startswith("ebooklib") for d in PROJECT["optional-dependencies"]["test"])
