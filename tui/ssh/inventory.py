"""The host inventory: a short TOML file the user writes once.

``[defaults]`` holds values every host shares; each ``[[hosts]]`` table names
one machine and overrides what it needs. Field names follow Ansible and Dask
where they overlap (``address``, ``port``, ``user``, ``identity_file``).
Every problem is reported as one line naming the file, the host and the field,
because the user has to find it in a file they wrote by hand.
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "InventoryError",
    "HostSpec",
    "WorkerSpec",
    "worker_name",
    "Inventory",
    "load_inventory",
    "parse_inventory",
    "DEFAULT_WORKDIR",
    "DEFAULT_WORKER_PORT",
]

DEFAULT_WORKDIR = "~/.e2a-worker"
DEFAULT_WORKER_PORT = 8001

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InventoryError(Exception):
    """The inventory cannot be used. ``str(err)`` is one line naming file, host and field."""


class WorkerSpec(BaseModel):
    """One worker process on a host: one per listed GPU, or a single CPU worker."""

    model_config = ConfigDict(frozen=True)

    host: str
    name: str
    index: int
    gpu: Optional[int]
    remote_port: int

    @property
    def slug(self) -> str:
        """File-name-safe form of the name, used for the worker's directory on the host."""
        return "cpu" if self.gpu is None else f"gpu{self.gpu}"


def worker_name(host: str, slug: str) -> str:
    """The worker name for a directory found on a host (``gpu3`` -> ``host/3``, ``cpu`` -> ``host/cpu``)."""
    suffix = slug[3:] if slug.startswith("gpu") and slug[3:].isdigit() else slug
    return f"{host}/{suffix}"


class _Fields(BaseModel):
    """Everything that may appear in ``[defaults]`` (all optional there)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int = Field(default=22, ge=1, le=65535)
    user: Optional[str] = None
    identity_file: Optional[Path] = None
    known_hosts: Optional[Path] = None
    python: str = "python3"
    workdir: str = DEFAULT_WORKDIR
    gpus: list[int] = Field(default_factory=list)
    engine: str = "piper"
    voice: Optional[str] = None
    model_dir: Optional[str] = None
    threads: Optional[int] = Field(default=None, ge=1, le=256)
    #: model copies per worker (one worker per GPU), each serving one unit at once (e2a-worker --replicas)
    replicas_per_gpu: int = Field(default=1, ge=1, le=16)
    #: let the host's venv see system packages, so an installed CUDA torch is used, not downloaded again
    system_site_packages: bool = False
    #: install speech recognition, so the host's workers can verify what they speak (e2a-tui --verify)
    verify: bool = False
    worker_port: int = Field(default=DEFAULT_WORKER_PORT, ge=1024, le=65535)
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("gpus")
    @classmethod
    def _gpus_distinct(cls, value: list[int]) -> list[int]:
        if any(g < 0 for g in value):
            raise ValueError("GPU indices are 0 or more")
        if len(set(value)) != len(value):
            raise ValueError("a GPU index is listed twice")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_strings(cls, value: Any) -> Any:
        # TOML users write OMP_NUM_THREADS = 4; the process environment wants text.
        if isinstance(value, dict):
            out = {}
            for key, val in value.items():
                if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
                    raise ValueError(f"{key!r} is not a valid environment variable name")
                if isinstance(val, bool):
                    val = "1" if val else "0"
                elif isinstance(val, (int, float)):
                    val = str(val)
                out[key] = val
            return out
        return value

    @field_validator("python", "workdir", "engine")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class HostSpec(_Fields):
    """One machine, fully resolved: defaults applied, paths absolute."""

    name: str
    address: str

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit)")
        return value

    @field_validator("address")
    @classmethod
    def _address_shape(cls, value: str) -> str:
        if not value.strip() or any(c.isspace() for c in value):
            raise ValueError("must be a host name or IP address without spaces")
        return value

    @model_validator(mode="after")
    def _ports_fit(self) -> "HostSpec":
        if self.worker_port + max(1, len(self.gpus)) - 1 > 65535:
            raise ValueError("worker_port + number of GPUs runs past port 65535")
        return self

    def workers(self) -> list[WorkerSpec]:
        """One worker per GPU (pinned with CUDA_VISIBLE_DEVICES), or one CPU worker."""
        if not self.gpus:
            return [WorkerSpec(host=self.name, name=f"{self.name}/cpu", index=0, gpu=None,
                               remote_port=self.worker_port)]
        return [
            WorkerSpec(host=self.name, name=f"{self.name}/{gpu}", index=i, gpu=gpu,
                       remote_port=self.worker_port + i)
            for i, gpu in enumerate(self.gpus)
        ]

    def target(self) -> str:
        """``user@address:port`` for messages."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.address}:{self.port}"


class Inventory(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    hosts: list[HostSpec]
    # the [ray] table (a tui.ray.settings.RaySettings): workers as actors on a Ray cluster; typed loosely
    # so that reading an inventory imports the Ray settings only when there is such a table
    ray: Optional[Any] = None

    def host(self, name: str) -> HostSpec:
        """The host called ``name``; :class:`InventoryError` names the known ones otherwise."""
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise InventoryError(f"{self.path}: no host named {name!r} (hosts: {known})")


_HOST_ONLY = ("name", "address")
_ALL_FIELDS = tuple(_Fields.model_fields) + _HOST_ONLY


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(key, _ALL_FIELDS, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error as 'field 'x': what is wrong'."""
    loc = [str(p) for p in error.get("loc", ())]
    field = loc[0] if loc else ""
    sub = "".join(f"[{p}]" for p in loc[1:])
    kind = error.get("type", "")
    if kind == "missing":
        return f"field {field!r} is required"
    if kind == "extra_forbidden":
        return f"unknown field {field!r}{_suggest(field)}"
    msg = str(error.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if not field:
        return msg
    return f"field {field + sub!r}: {msg}"


def _resolve_path(value: Optional[Path], base: Path) -> Optional[Path]:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def _check_identity_file(path: Path) -> Optional[str]:
    """Why the private key at ``path`` cannot be used, or None if it can."""
    import asyncssh  # only needed when a key file is named

    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    try:
        asyncssh.import_private_key(data)
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError) as exc:
        if isinstance(exc, asyncssh.KeyEncryptionError) or "passphrase" in str(exc).lower():
            return f"{path} is passphrase-protected; load it into ssh-agent and leave identity_file unset"
        return f"{path} is not a private key this client can read ({exc})"
    return None


def _where(index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"host {name!r}" if isinstance(name, str) and name else f"host #{index + 1}"


def parse_inventory(data: dict[str, Any], path: Path) -> Inventory:
    """Validate an already-parsed TOML document; ``path`` is for messages and relative paths."""
    base = path.parent
    unknown = sorted(set(data) - {"defaults", "hosts", "ray"})
    if unknown:
        raise InventoryError(f"{path}: unknown top-level key {unknown[0]!r} "
                             "(expected [defaults], [[hosts]] and [ray])")
    ray = None
    if "ray" in data:
        from ..ray.settings import RaySettingsError, parse_ray_table

        try:
            ray = parse_ray_table(data["ray"], str(path))
        except RaySettingsError as exc:
            raise InventoryError(str(exc)) from None
        if "hosts" not in data:
            return Inventory(path=path, hosts=[], ray=ray)

    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        raise InventoryError(f"{path}: [defaults] must be a table")
    for key in _HOST_ONLY:
        if key in raw_defaults:
            raise InventoryError(f"{path}: [defaults]: field {key!r} belongs in each [[hosts]] entry")
    try:
        _Fields.model_validate(raw_defaults)
    except ValidationError as exc:
        raise InventoryError(f"{path}: [defaults]: {_describe(exc.errors()[0])}") from None

    raw_hosts = data.get("hosts")
    if raw_hosts is None:
        raise InventoryError(f"{path}: no [[hosts]] entries")
    if not isinstance(raw_hosts, list) or not all(isinstance(h, dict) for h in raw_hosts):
        raise InventoryError(f"{path}: 'hosts' must be written as [[hosts]] tables")
    if not raw_hosts:
        raise InventoryError(f"{path}: no [[hosts]] entries")

    hosts: list[HostSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_hosts):
        where = _where(index, raw)
        merged = {**raw_defaults, **raw}
        if isinstance(raw_defaults.get("env"), dict) and isinstance(raw.get("env"), dict):
            merged["env"] = {**raw_defaults["env"], **raw["env"]}
        try:
            host = HostSpec.model_validate(merged)
        except ValidationError as exc:
            raise InventoryError(f"{path}: {where}: {_describe(exc.errors()[0])}") from None
        if host.name in seen:
            raise InventoryError(
                f"{path}: host name {host.name!r} is used twice (hosts #{seen[host.name] + 1} and #{index + 1})"
            )
        seen[host.name] = index
        identity = _resolve_path(host.identity_file, base)
        known = _resolve_path(host.known_hosts, base)
        if identity is not None:
            problem = _check_identity_file(identity)
            if problem:
                raise InventoryError(f"{path}: {where}: field 'identity_file': {problem}")
        if known is not None and known.exists() and not known.is_file():
            raise InventoryError(f"{path}: {where}: field 'known_hosts': {known} is not a file")
        hosts.append(host.model_copy(update={"identity_file": identity, "known_hosts": known}))
    return Inventory(path=path, hosts=hosts, ray=ray)


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate an inventory file; every failure is an :class:`InventoryError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML: {exc}") from None
    return parse_inventory(data, path)
