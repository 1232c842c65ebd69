"""GPU telemetry through NVML, for the one GPU this worker was given.

Hosts without an NVIDIA driver are normal (CPU workers): every query then
answers "no GPU" instead of failing. The device is the first one named by
``CUDA_VISIBLE_DEVICES`` (an index or a ``GPU-``/``MIG-`` UUID), so a worker
started with ``CUDA_VISIBLE_DEVICES=1`` reports GPU 1, as CUDA would use it.
NVML numbers devices in PCI bus order; set ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` on
hosts with mixed GPU models so CUDA agrees.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Optional

__all__ = ["GpuSnapshot", "GpuProbe", "visible_device"]

_LOG = logging.getLogger(__name__)
_MIB = 1024 * 1024


@dataclass(frozen=True)
class GpuSnapshot:
    name: Optional[str] = None
    memory_used_mb: Optional[float] = None
    memory_total_mb: Optional[float] = None
    memory_free_mb: Optional[float] = None
    utilization_percent: Optional[float] = None


def visible_device(environ: Optional[dict[str, str]] = None) -> Optional[str]:
    """The first entry of ``CUDA_VISIBLE_DEVICES``; ``"0"`` when unset, None when it hides all GPUs."""
    env = os.environ if environ is None else environ
    raw = env.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return "0"
    first = raw.split(",")[0].strip()
    if not first or first.startswith("-") or first.lower() in {"none", "void", "nodevfiles"}:
        return None
    return first


class GpuProbe:
    """Opens NVML once; :meth:`snapshot` is cheap enough to call on every ``/status``."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handle: Any = None
        self.name: Optional[str] = None

    @property
    def available(self) -> bool:
        return self._handle is not None

    def open(self) -> None:
        device = visible_device()
        if device is None:
            return
        try:
            import pynvml
        except ImportError:
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            _LOG.debug("no NVML here: %s", exc)
            return
        self._nvml = pynvml
        try:
            self._handle = self._find_handle(pynvml, device)
            name = pynvml.nvmlDeviceGetName(self._handle)
            self.name = name.decode() if isinstance(name, bytes) else str(name)
            _LOG.info("GPU %s: %s", device, self.name)
        except pynvml.NVMLError as exc:
            _LOG.warning("GPU %s not usable through NVML: %s", device, exc)
            self._handle = None

    @staticmethod
    def _find_handle(pynvml: Any, device: str) -> Any:
        if device.isdigit():
            return pynvml.nvmlDeviceGetHandleByIndex(int(device))
        try:
            return pynvml.nvmlDeviceGetHandleByUUID(device)
        except pynvml.NVMLError:
            # CUDA accepts a UUID prefix; NVML wants it whole.
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                uuid = pynvml.nvmlDeviceGetUUID(handle)
                uuid = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
                if uuid.startswith(device):
                    return handle
            raise

    def snapshot(self) -> GpuSnapshot:
        if self._handle is None:
            return GpuSnapshot()
        pynvml = self._nvml
        used = total = free = util = None
        try:
            memory = pynvml.nvmlDeviceGetMemoryInfo(self._handle)
            used, total, free = memory.used / _MIB, memory.total / _MIB, memory.free / _MIB
        except pynvml.NVMLError:
            pass
        try:
            util = float(pynvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)
        except pynvml.NVMLError:  # MIG slices do not report utilisation
            pass
        return GpuSnapshot(self.name, used, total, free, util)

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
        self._nvml = None
        self._handle = None
