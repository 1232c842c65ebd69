"""Reference voices for cloning engines: read once, uploaded once per worker, then named by hash.

A book of a thousand units must not carry the voice sample a thousand times.
:class:`VoiceUploader` asks each worker ``GET /voices/{sha256}`` first and only
``PUT``s the file when the worker answers 404; it remembers which workers have
it, and a lock per worker keeps two units that start at once from uploading
twice. The hash then goes into ``tts_config.speaker_wav``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import httpx

from .client import WorkerAuthError, WorkerError, WorkerUnreachable

__all__ = ["VoiceError", "VoiceSample", "VoiceUploader", "load_voice_sample", "MAX_VOICE_BYTES"]

#: same limit as the worker's (remote_worker/voices.py); checked here so the user hears it before any upload
MAX_VOICE_BYTES = 16 * 1024 * 1024


class VoiceError(WorkerError):
    """The voice sample cannot be used (unreadable, too large, refused by a worker); ``str()`` is one line."""


@dataclass(frozen=True)
class VoiceSample:
    path: Path
    data: bytes
    sha256: str

    def tts_config(self, language: Optional[str] = None) -> dict[str, str]:
        """The ``tts_config`` keys that select this voice (and the language, when given)."""
        config = {"speaker_wav": self.sha256}
        if language:
            config["language"] = language
        return config


def load_voice_sample(path: str | Path) -> VoiceSample:
    """Read ``--voice-sample PATH`` once; a problem is a one-line :class:`VoiceError`."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VoiceError(f"cannot read voice sample {path}: {exc.strerror or exc}") from None
    if not data:
        raise VoiceError(f"voice sample {path} is empty")
    if len(data) > MAX_VOICE_BYTES:
        raise VoiceError(f"voice sample {path} is {len(data)} bytes; workers take at most {MAX_VOICE_BYTES}")
    return VoiceSample(path, data, hashlib.sha256(data).hexdigest())


class VoiceUploader:
    """Makes sure each worker holds ``sample``, uploading it at most once per worker."""

    def __init__(self, sample: VoiceSample) -> None:
        self.sample = sample
        self._present: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self.uploads = 0

    async def ensure(self, http: httpx.AsyncClient, worker: str) -> bool:
        """True if this call uploaded the voice, False if the worker had it. ``http`` has the worker's base URL."""
        if worker in self._present:
            return False
        lock = self._locks.setdefault(worker, asyncio.Lock())
        async with lock:
            if worker in self._present:
                return False
            path = f"/voices/{self.sample.sha256}"
            try:
                found = await http.get(path)
                _check_auth(found, worker)
                if found.status_code == 200:
                    self._present.add(worker)
                    return False
                if found.status_code != 404:
                    raise VoiceError(f"{worker}: GET {path} answered {found.status_code}: {_detail(found)}")
                put = await http.put(path, content=self.sample.data,
                                     headers={"Content-Type": "application/octet-stream"})
            except httpx.HTTPError as exc:
                raise WorkerUnreachable(f"{worker}: voice upload: {type(exc).__name__} {exc}".strip()) from None
            _check_auth(put, worker)
            if put.status_code not in (200, 201):
                raise VoiceError(f"{worker} refused voice sample {self.sample.path.name}: {_detail(put)}")
            self._present.add(worker)
            self.uploads += 1
            return True

    def forget(self, worker: str) -> None:
        """A worker restarted (its voices live in a temporary folder): check it again next time."""
        self._present.discard(worker)


def _check_auth(resp: httpx.Response, worker: str) -> None:
    if resp.status_code in (401, 403):
        raise WorkerAuthError(f"{worker}: the worker refused our token ({resp.status_code})")


def _detail(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else f"HTTP {resp.status_code}"
