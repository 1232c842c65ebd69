"""What a Ray run asks for: the cluster address and the workers, from ``--ray*`` options or ``[ray]``.

Kept free of Ray so the CLI and the inventory parser can validate it without importing ``ray``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

__all__ = ["RaySettings", "RaySettingsError", "parse_ray_table", "check_address", "LOCAL", "AUTO"]

LOCAL = "local"
AUTO = "auto"

#: [ray] keys that are worker options (passed to each actor as they are)
_WORKER_KEYS = ("engine", "voice", "threads", "model_dir", "model", "agree_license", "replicas", "device",
                "verify", "verify_model")
_ALL_KEYS = ("address", "workers", "gpus_per_worker", "cpus_per_worker", "max_restarts", "env",
             *_WORKER_KEYS)


class RaySettingsError(ValueError):
    """A bad ``--ray*`` option or ``[ray]`` value; ``str(err)`` is one line."""


def check_address(address: str) -> str:
    """``auto``, ``local``, ``HOST:PORT`` or ``ray://HOST:PORT``; anything else is refused."""
    text = address.strip()
    if text in (AUTO, LOCAL):
        return text
    rest = text[len("ray://"):] if text.startswith("ray://") else text
    if "://" in rest:
        raise RaySettingsError(f"bad Ray address {address!r}: expected auto, local, HOST:PORT or ray://HOST:PORT")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RaySettingsError(f"bad Ray address {address!r}: expected auto, local, HOST:PORT or ray://HOST:PORT")
    return text


@dataclass(frozen=True)
class RaySettings:
    """``workers`` None: one per GPU the cluster offers (one per CPU on a CPU-only cluster, capped)."""

    address: str = AUTO
    workers: Optional[int] = None
    gpus_per_worker: Optional[float] = None  # None: 1 on a cluster with GPUs, 0 on one without
    cpus_per_worker: float = 1.0
    max_restarts: int = 5
    env: dict[str, str] = field(default_factory=dict)
    worker: dict[str, Any] = field(default_factory=dict)  # remote_worker.ray_actor.SETTING_KEYS

    def __post_init__(self) -> None:
        check_address(self.address)
        if self.workers is not None and not 1 <= self.workers <= 512:
            raise RaySettingsError(f"Ray workers must be 1..512, got {self.workers}")
        if self.gpus_per_worker is not None and not 0 <= self.gpus_per_worker <= 8:
            raise RaySettingsError(f"GPUs per Ray worker must be 0..8, got {self.gpus_per_worker:g}")
        if self.gpus_per_worker is not None and self.gpus_per_worker > 1 and self.gpus_per_worker % 1:
            raise RaySettingsError("GPUs per Ray worker above 1 must be a whole number")
        if not 0 <= self.cpus_per_worker <= 64:
            raise RaySettingsError(f"CPUs per Ray worker must be 0..64, got {self.cpus_per_worker:g}")
        if self.max_restarts < -1:
            raise RaySettingsError("max_restarts must be -1 (no limit) or more")

    def with_options(self, **changes: Any) -> "RaySettings":
        """A copy with the options given on the command line (None: keep this one's)."""
        worker = dict(self.worker)
        for key in _WORKER_KEYS:
            value = changes.pop(key, None)
            if value is not None:
                worker[key] = value
        kept = {k: v for k, v in changes.items() if v is not None}
        return replace(self, worker=worker, **kept)


def parse_ray_table(raw: Any, where: str) -> RaySettings:
    """An inventory's ``[ray]`` table; ``where`` prefixes the one-line error."""
    if not isinstance(raw, dict):
        raise RaySettingsError(f"{where}: [ray] must be a table")
    unknown = sorted(set(raw) - set(_ALL_KEYS))
    if unknown:
        raise RaySettingsError(f"{where}: [ray]: unknown field {unknown[0]!r} (known: {', '.join(_ALL_KEYS)})")
    env = raw.get("env", {})
    if not isinstance(env, dict):
        raise RaySettingsError(f"{where}: [ray]: field 'env' must be a table")
    try:
        return RaySettings(
            address=str(raw.get("address", AUTO)),
            workers=_opt(raw, "workers", int),
            gpus_per_worker=_opt(raw, "gpus_per_worker", float),
            cpus_per_worker=float(raw.get("cpus_per_worker", 1.0)),
            max_restarts=int(raw.get("max_restarts", 5)),
            env={str(k): str(v) for k, v in env.items()},
            worker={k: raw[k] for k in _WORKER_KEYS if k in raw},
        )
    except (TypeError, ValueError) as exc:
        raise RaySettingsError(f"{where}: [ray]: {exc}") from None


def _opt(raw: dict, key: str, kind: type) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RaySettingsError(f"field {key!r} must be a number")
    return kind(value)
