"""``--workers`` with a token: warned once when the token would cross a network in clear text."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.support.worker_helpers import REPO_ROOT
from tui.core.static import StaticCluster, cleartext_token_warning


@pytest.mark.parametrize(
    "spec, token, warned",
    [
        ("10.1.2.3:8001", "tok", True),
        ("gpu-box.lan:8001,127.0.0.1:8002", "tok", True),
        ("[fd00::5]:8001", "tok", True),
        ("127.0.0.1:8001,localhost:8002,[::1]:8003", "tok", False),
        ("10.1.2.3:8001", None, False),
    ],
)
def test_warning_only_for_a_token_sent_off_this_machine(spec, token, warned):
    lines: list[str] = []
    cluster = StaticCluster(spec, token=token, warn=lines.append)
    assert cluster.warnings == lines
    assert len(lines) == (1 if warned else 0)
    if warned:
        assert "clear text" in lines[0] and "\n" not in lines[0] and "tok" not in lines[0].split("token", 1)[1][:6]


def test_the_token_is_never_in_the_warning_or_the_repr():
    token = "s3cr3t-token-value"
    line = cleartext_token_warning([("10.0.0.9", 8000)], token)
    assert line and token not in line
    assert token not in repr(StaticCluster("10.0.0.9:8000", token=token, warn=None))


def _host_address() -> str:
    """An address of this machine that is not loopback (nothing listens on port 1 there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            return probe.getsockname()[0]
        except OSError:
            pytest.skip("this machine has no non-loopback IPv4 address")


def test_cli_prints_the_warning_once_on_stderr(tmp_path):
    book = tmp_path / "b.txt"
    book.write_text("CHAPTER 1\n\nHello there, friend.\n")
    token_file = tmp_path / "token"
    token = "cli-token-never-shown"
    token_file.write_text(token + "\n")
    env = {k: v for k, v in os.environ.items() if k != "E2A_WORKER_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "tui", str(book), "--no-tui", "--workers", f"{_host_address()}:1",
         "--worker-token-file", str(token_file), "-o", str(tmp_path / "out.m4b")],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env=env,
    )
    assert result.returncode != 0  # nothing listens there
    assert result.stderr.count("travels in clear text") == 1
    assert token not in result.stdout + result.stderr
