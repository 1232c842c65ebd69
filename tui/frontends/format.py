"""Numbers and names as people read them: durations, sizes, shares, unit ids, ONNX providers.

Plain strings from the standard library only, so the headless front end (which
runs where textual is absent) and the dashboard show every value the same way.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = [
    "MISSING",
    "format_duration",
    "format_seconds",
    "format_megabytes",
    "format_percent",
    "format_ratio",
    "format_yes_no",
    "unit_numbers",
    "unit_label",
    "provider_name",
    "compute_label",
]

#: what a value that is not known (None, empty) is shown as
MISSING = "—"

_UNIT_ID = re.compile(r"^c(\d+)-u(\d+)$")

#: onnxruntime provider names (less ``ExecutionProvider``) whose plain spelling differs
_PROVIDERS = {"Tensorrt": "TensorRT", "NvTensorRTRTX": "TensorRT-RTX", "Dml": "DirectML", "ROCM": "ROCm",
              "MIGraphX": "MIGraphX", "OpenVINO": "OpenVINO", "CoreML": "CoreML", "Cpu": "CPU"}
_DEVICES = {"cpu": "CPU", "cuda": "CUDA", "mps": "MPS", "rocm": "ROCm", "xpu": "XPU"}


def format_duration(seconds: Optional[float]) -> str:
    """``1:02:03`` or ``2:03``; ``--:--`` when unknown (an ETA before the first unit)."""
    if seconds is None:
        return "--:--"
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_seconds(seconds: Optional[float]) -> str:
    """A short time as ``2.3 s`` (``45 s`` when whole), a minute or more as :func:`format_duration`."""
    if seconds is None:
        return MISSING
    if abs(seconds) >= 59.95:
        return format_duration(seconds)
    return f"{seconds:.0f} s" if float(seconds).is_integer() else f"{seconds:.1f} s"


def format_megabytes(mb: Optional[float]) -> str:
    """``512 MB`` or ``6.0 GB`` (1024 MB to the GB, as GPU tools count)."""
    if mb is None:
        return MISSING
    if abs(mb) >= 1024:
        return f"{mb / 1024:.1f} GB"
    return f"{mb:.0f} MB"


def format_percent(value: Optional[float]) -> str:
    """A value already in percent: ``87%``."""
    return MISSING if value is None else f"{value:.0f}%"


def format_ratio(value: Optional[float]) -> str:
    """A share between 0 and 1 as a percent: ``0.42`` is ``42%``."""
    return MISSING if value is None else format_percent(value * 100.0)


def format_yes_no(value: Optional[bool]) -> str:
    return MISSING if value is None else ("yes" if value else "no")


def unit_numbers(unit_id: str) -> Optional[tuple[int, int]]:
    """(chapter, unit) counted from 1 as the user counts, from an id like ``c0000-u0008``; None for others."""
    match = _UNIT_ID.match(unit_id)
    if match is None:
        return None
    return int(match.group(1)) + 1, int(match.group(2)) + 1


def unit_label(unit_id: str) -> str:
    """``c0000-u0008`` is ``1.9`` (chapter 1, unit 9); an id of another shape is shown as it is.

    The internal id stays the key of every command; only what a person reads changes.
    """
    numbers = unit_numbers(unit_id)
    return unit_id if numbers is None else f"{numbers[0]}.{numbers[1]}"


def provider_name(provider: str) -> str:
    """``CPUExecutionProvider`` is ``CPU``, ``TensorrtExecutionProvider`` is ``TensorRT``; others unchanged."""
    name = provider.removesuffix("ExecutionProvider")
    return _PROVIDERS.get(name, name) if name else provider


def compute_label(device: str) -> str:
    """What a worker computes on, from the state model's ``device/provider``.

    ``cpu/CPUExecutionProvider`` is ``CPU``, ``cuda/TensorrtExecutionProvider`` is
    ``TensorRT``, ``cuda/torch-cuda`` and a bare ``cuda`` are ``CUDA``.
    """
    base, _, provider = device.partition("/")
    if provider and not provider.startswith("torch-"):
        return provider_name(provider)
    return _DEVICES.get(base.lower(), base)
