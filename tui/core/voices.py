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

from .client import VoiceError, WorkerClient

__all__ = ["VoiceError", "VoiceSample", "VoiceUploader", "load_voice_sample", "MAX_VOICE_BYTES"]

#: same limit as the worker's (remote_worker/voices.py); checked here so the user hears it before any upload
MAX_VOICE_BYTES = 16 * 1024 * 1024


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

    async def ensure(self, client: WorkerClient) -> bool:
        """True if this call uploaded the voice, False if the worker had it."""
        worker = client.name
        if worker in self._present:
            return False
        async with self._locks.setdefault(worker, asyncio.Lock()):
            if worker in self._present:
                return False
            uploaded = False
            if not await client.has_voice(self.sample.sha256):
                await client.put_voice(self.sample.sha256, self.sample.data, self.sample.path.name)
                self.uploads += 1
                uploaded = True
            self._present.add(worker)
            return uploaded

    def forget(self, worker: str) -> None:
        """A worker restarted (its voices live in a temporary folder): check it again next time."""
        self._present.discard(worker)
