"""The layering the design depends on: the core runs without textual; the worker without tui."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CORE_MODULES = [
    "tui.cli", "tui.core.run", "tui.core.scheduler", "tui.core.journal", "tui.core.client",
    "tui.core.events", "tui.core.local", "tui.core.static", "tui.core.progress_server",
    "tui.book.ingest", "tui.book.units", "tui.assembly.audiobook", "tui.assembly.encoder",
    "tui.ssh.inventory", "tui.ssh.cluster", "tui.frontends.headless",
    "tui.core.session", "tui.core.state", "tui.core.commands", "tui.core.attempts", "tui.core.run_commands",
    "tui.core.encoding", "tui.core.telemetry", "tui.core.planning", "tui.core.recording", "tui.core.voices",
    "tui.core.waiting", "tui.book.fb2", "tui.book.matter",
    "tui.core.outcome", "tui.core.control", "tui.core.ledger", "tui.core.tasks", "tui.core.workers",
    "tui.core.supervision", "tui.core.checks", "tui.core.progress_models",
]


def _import_with_blocked(blocked: str, modules: list[str]) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import importlib, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == {blocked!r} or name.startswith({blocked!r} + "."):
                    raise ImportError("blocked: " + name)
                return None
        sys.meta_path.insert(0, Block())
        for m in {modules!r}:
            importlib.import_module(m)
        leaked = [m for m in sys.modules if m == {blocked!r} or m.startswith({blocked!r} + ".")]
        assert not leaked, leaked
        print("ok", len({modules!r}))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_core_imports_without_textual() -> None:
    result = _import_with_blocked("textual", CORE_MODULES)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"ok {len(CORE_MODULES)}"


def test_worker_imports_nothing_from_tui() -> None:
    modules = ["remote_worker", "remote_worker.protocol", "remote_worker.app", "remote_worker.cli",
               "remote_worker.engines", "remote_worker.engines.piper", "remote_worker.verifying",
               "remote_worker.verify"]
    result = _import_with_blocked("tui", modules)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"ok {len(modules)}"
