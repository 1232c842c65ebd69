"""The shape the code keeps: no import cycles, no probing of worker sources, small classes.

Read from the source with :mod:`ast` (nothing is imported), so a function-level
import counts as much as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tui.core.cluster import Offer, WorkerEndpoint, WorkerSource

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tui", "remote_worker")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """module -> project modules it imports anywhere in its body (TYPE_CHECKING blocks aside)."""
    sources = _sources()
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(), str(path))
        type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                     for n in ast.walk(node)}
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, path.name == "__init__.py", node)
                names = [f"{base}.{a.name}" for a in node.names] + [base]
            else:
                continue
            for name in names:
                while name and name not in sources:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _package_parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_import_cycles() -> None:
    graph = import_graph()
    # a package's __init__ importing its own submodules is how packages re-export, not a cycle
    pruned = {m: {t for t in ts if t not in _package_parents(m)} for m, ts in graph.items()}
    assert _cycles(pruned) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = import_graph()
    assert "tui.core.session" in graph["tui.cli"] or "tui.core.session" in graph["tui.dashboard.launch"]
    assert "tui.core.cluster" in graph["tui.core.workers"]


def test_remote_worker_imports_nothing_from_tui() -> None:
    graph = import_graph()
    leaks = {m: sorted(t for t in ts if t.startswith("tui")) for m, ts in graph.items() if m.startswith("remote_worker")}
    assert {m: ts for m, ts in leaks.items() if ts} == {}


_SOURCE_METHODS = {"bind_events", "host_names", "rebootstrap", "is_connected", "log_file", "workdir", "offers"}


def test_no_worker_source_is_probed_by_attribute_name() -> None:
    bad = []
    for module, path in _sources().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value in _SOURCE_METHODS:
                bad.append(f"{module}:{node.lineno} {ast.unparse(node)}")
    assert bad == []


def test_no_branch_on_a_message_string() -> None:
    """Control flow compares types and members, never a human-readable message."""
    bad = []
    for module, path in _sources().items():
        if not module.startswith("tui.core"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("startswith", "endswith") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str) \
                    and " " in node.args[0].value:
                bad.append(f"{module}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and isinstance(c.value, str)
                                                     and " " in c.value for c in node.comparators):
                bad.append(f"{module}:{node.lineno} {ast.unparse(node)}")
    assert bad == []


#: pure state machines may be long; everything else in the core stays small
_LONG_ALLOWED = {("tui.core.scheduler", "Scheduler"), ("tui.core.state", "RunState")}


def test_core_classes_stay_small() -> None:
    long = []
    for module, path in _sources().items():
        if not module.startswith("tui.core"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and (module, node.name) not in _LONG_ALLOWED:
                lines = node.end_lineno - node.lineno + 1
                if lines > 300:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert long == []


def test_create_app_is_an_assembly_of_routers() -> None:
    tree = ast.parse((REPO / "remote_worker" / "app.py").read_text())
    create_app = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "create_app")
    assert create_app.end_lineno - create_app.lineno + 1 <= 80


# ---------------------------------------------------------------------------- worker sources


class _Minimal(WorkerSource):
    """A source that offers nothing beyond start and stop."""

    async def start(self) -> list[WorkerEndpoint]:
        return [WorkerEndpoint("w", "http://127.0.0.1:9")]

    async def stop(self) -> None:
        return None


async def test_a_minimal_source_has_safe_defaults() -> None:
    source = _Minimal()
    assert source.offers == frozenset()
    assert [ep.name for ep in await source.start()] == ["w"]
    source.bind_events(lambda event: None)
    assert source.host_names() == ()
    assert source.is_connected("anywhere") is True
    assert source.log_file("w") is None
    from tui.core.cluster import ClusterError

    with pytest.raises(ClusterError, match="cannot be bootstrapped again"):
        await source.rebootstrap("anywhere")


def test_declaring_an_offer_without_its_method_fails_at_definition() -> None:
    with pytest.raises(TypeError, match="offers rebootstrap but does not implement rebootstrap"):
        class _Liar(_Minimal):  # noqa: F841 - defining it is the test
            offers = frozenset({Offer.REBOOTSTRAP})


def test_every_source_in_the_project_declares_what_it_implements() -> None:
    from tests.support.session_helpers import Proxied  # noqa: F401 - a test source too
    from tui.core.local import LocalCluster
    from tui.core.static import StaticCluster
    from tui.ssh.cluster import SshCluster

    assert Offer.LOG_FILES in LocalCluster.offers and Offer.REBOOTSTRAP in LocalCluster.offers
    assert StaticCluster.offers == frozenset()
    assert {Offer.REBOOTSTRAP, Offer.CONNECTIVITY, Offer.HOSTS} <= SshCluster.offers
