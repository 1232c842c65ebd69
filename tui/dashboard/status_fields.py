"""A worker's ``/status`` answer as (label, value) lines a person reads.

Every field is shown, known ones in a useful order with plain names; a field
this dashboard does not know yet is still shown, named from its key and
formatted by its suffix (``_seconds``, ``_mb``, ``_percent``…).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..frontends.format import (MISSING, format_megabytes, format_percent, format_ratio, format_seconds,
                                format_yes_no, provider_name, unit_label)

__all__ = ["status_rows", "field_label", "field_value"]

#: known fields: their label, in the order shown; the rest follow by label
LABELS = {
    "status": "Status",
    "current_chapter": "Current unit",
    "engine": "Engine",
    "model": "Model",
    "voice": "Voice",
    "device": "Device",
    "provider": "Provider",
    "threads": "Threads",
    "replicas": "Replicas",
    "running": "Running now",
    "peak_running": "Most at once",
    "queued": "Queued",
    "units_done": "Units done",
    "units_failed": "Units failed",
    "audio_seconds": "Audio made",
    "synthesis_seconds": "Synthesis time",
    "retakes": "Retakes",
    "verify_seconds": "Hearing time",
    "verify_audio_seconds": "Audio heard",
    "gpu_name": "GPU",
    "gpu_memory_used_mb": "GPU memory used",
    "gpu_memory_free_mb": "GPU memory free",
    "gpu_memory_total_mb": "GPU memory total",
    "gpu_utilization_percent": "GPU utilisation",
    "model_memory_mb": "Model memory",
    "uptime_seconds": "Uptime",
    "version": "Version",
    "languages": "Languages",
    "speakers": "Speakers",
    "replica_status": "Replica",
}

#: words spelled otherwise than capitalised, in labels made from keys
_WORDS = {"gpu": "GPU", "cpu": "CPU", "id": "ID", "tts": "TTS", "onnx": "ONNX", "url": "URL"}
_SUFFIXES = ("_seconds", "_mb", "_bytes", "_percent", "_ratio", "_fraction")
#: list items shown before ``+N more``
LIST_ITEMS = 8


def field_label(key: str) -> str:
    """``uptime_seconds`` is ``Uptime``; an unknown ``queue_wait_seconds`` is ``Queue wait``."""
    if key in LABELS:
        return LABELS[key]
    stem = next((key[: -len(s)] for s in _SUFFIXES if key.endswith(s) and len(key) > len(s)), key)
    words = [_WORDS.get(w.lower(), w) for w in stem.replace("-", "_").split("_") if w]
    if not words:
        return key
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _bytes(value: float) -> str:
    return format_megabytes(value / (1024 * 1024))


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _list(values: list) -> str:
    shown = ", ".join(field_value("", v) for v in values[:LIST_ITEMS])
    more = len(values) - LIST_ITEMS
    return shown + (f" +{more} more" if more > 0 else "")


#: how a value is shown, by the end of its key
_BY_SUFFIX: tuple[tuple[str, Callable[[float], str]], ...] = (
    ("_seconds", format_seconds), ("_mb", format_megabytes), ("_bytes", _bytes),
    ("_percent", format_percent), ("_ratio", format_ratio), ("_fraction", format_ratio),
)


def field_value(key: str, value: Any) -> str:
    """One value as a person reads it: durations, MB/GB, percents, yes/no, ``—`` when missing."""
    if value is None or value == "" or value == [] or value == {}:
        return MISSING
    if isinstance(value, bool):
        return format_yes_no(value)
    if isinstance(value, (int, float)):
        for suffix, show in _BY_SUFFIX:
            if key.endswith(suffix):
                return show(value)
        return _number(value)
    if isinstance(value, str):
        if key == "provider":
            return provider_name(value)
        if key == "current_chapter":
            return unit_label(value)
        return value
    if isinstance(value, (list, tuple)):
        return _list(list(value))
    if isinstance(value, Mapping):
        return ", ".join(f"{field_label(k).lower()} {field_value(k, v)}" for k, v in value.items())
    return str(value)


def _replica(replica: Mapping[str, Any]) -> str:
    """``busy on 1.9 · 12 units · busy 5:20 · model 1.2 GB``."""
    busy = replica.get("busy")
    current = replica.get("current_chapter")
    head = "busy" if busy else "idle"
    if busy and current:
        head += f" on {field_value('current_chapter', current)}"
    parts = [head, f"{replica.get('units_done', 0)} units"]
    if replica.get("busy_seconds"):
        parts.append(f"busy {format_seconds(replica['busy_seconds'])}")
    if replica.get("model_memory_mb") is not None:
        parts.append(f"model {format_megabytes(replica['model_memory_mb'])}")
    return " · ".join(parts)


def _has_gpu(status: Mapping[str, Any]) -> bool:
    return bool(status.get("gpu_name")) or status.get("gpu_memory_total_mb") is not None


def status_rows(status: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every field of a ``/status`` answer as (label, value); replicas one line each."""
    order = list(LABELS)
    keys = [k for k in order if k in status]
    keys += sorted((k for k in status if k not in LABELS), key=field_label)
    gpu = _has_gpu(status)
    rows: list[tuple[str, str]] = []
    for key in keys:
        value = status[key]
        if key == "replica_status" and isinstance(value, list):
            for i, replica in enumerate(value):
                if not isinstance(replica, Mapping):
                    rows.append((f"Replica {i + 1}", field_value("", replica)))
                    continue
                index = replica.get("index")
                rows.append((f"Replica {index + 1 if isinstance(index, int) else i + 1}", _replica(replica)))
            continue
        if key.startswith("gpu_") and not gpu:  # a worker without a GPU reports 0 MB free: not a number to read
            rows.append((field_label(key), MISSING))
            continue
        rows.append((field_label(key), field_value(key, value)))
    return rows
