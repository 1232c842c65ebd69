"""``e2a-tui status --ray ADDRESS`` and ``e2a-tui stop --ray ADDRESS``.

Worker actors live as long as the run that started them (Ray removes them with their
orchestrator), so ``status`` shows the cluster and the workers of runs going on now, and ``stop``
ends those workers (a run elsewhere then loses them, as with ``stop`` on SSH hosts). A private
``local`` cluster lives only inside its run: there is nothing to show or stop from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..core.cluster import ClusterError

__all__ = ["ActorRow", "status", "stop", "format_rows"]

#: named actors of this project start with this (``e2a-<run>-<n>``)
_PREFIX = "e2a-"


@dataclass(frozen=True)
class ActorRow:
    actor: str
    node: str
    gpus: str
    pid: Optional[int]
    state: str  # "healthy" or why not


def _connect(address: str):
    from .connect import connect
    from .settings import LOCAL

    if address == LOCAL:
        raise ClusterError("--ray local is a private cluster that lives only inside its run: nothing to show or stop")
    return connect(address)


def _our_actors() -> list[str]:
    import ray

    # connect() joined in the project's namespace: only its actors are listed
    return sorted(name for name in ray.util.list_named_actors(all_namespaces=False) if name.startswith(_PREFIX))


def status(address: str) -> tuple[str, list[ActorRow]]:
    """A line about the cluster and one row per worker actor alive now."""
    import ray

    from .connect import NAMESPACE, first_line
    from .plan import alive_nodes, summary

    conn = _connect(address)
    try:
        nodes = alive_nodes()
        rows = []
        for name in _our_actors():
            try:
                info = ray.get(ray.get_actor(name, namespace=NAMESPACE).describe.remote(), timeout=10)
            except Exception as exc:  # noqa: BLE001 - dead, restarting, hung: say so
                rows.append(ActorRow(name, "?", "", None, first_line(exc)))
                continue
            rows.append(ActorRow(name, str(info.get("node_ip")), ",".join(info.get("gpus") or []),
                                 info.get("pid"), "healthy"))
        return f"Ray cluster at {address}: {len(nodes)} node(s): {summary(nodes)}", rows
    finally:
        conn.close()


def stop(address: str) -> list[str]:
    """Kill every worker actor of this project on the cluster; their names."""
    import ray

    from .connect import NAMESPACE

    conn = _connect(address)
    try:
        names = _our_actors()
        for name in names:
            try:
                ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
            except ValueError:  # gone meanwhile
                pass
        return names
    finally:
        conn.close()


def format_rows(rows: list[ActorRow]) -> str:
    if not rows:
        return "no e2a worker actor is running (actors live as long as the run that started them)"
    lines = [f"{'ACTOR':<16} {'NODE':<16} {'GPU':<6} {'PID':>7}  STATE"]
    lines += [f"{r.actor:<16} {r.node:<16} {r.gpus or '-':<6} {r.pid or '-':>7}  {r.state}" for r in rows]
    return "\n".join(lines)
