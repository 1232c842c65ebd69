"""Reference voices uploaded once and kept by content hash.

A cloning engine needs a few seconds of the voice to copy. The orchestrator
uploads that WAV once per worker (``PUT /voices/{sha256}``) and afterwards only
names its hash in ``tts_config.speaker_wav``, so a book of a thousand units
sends the sample once, not a thousand times. The hash is the identity: a body
whose sha256 differs from the name in the URL is refused, so a voice can never
be stored under the wrong name.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import soundfile

__all__ = [
    "MAX_VOICE_BYTES",
    "MIN_VOICE_SECONDS",
    "MAX_VOICE_SECONDS",
    "VoiceError",
    "VoiceInfo",
    "VoiceStore",
    "is_voice_hash",
    "probe_audio",
]

#: 60 s of 48 kHz stereo 16-bit WAV is ~11 MB; anything bigger is not a reference clip.
MAX_VOICE_BYTES = 16 * 1024 * 1024
MIN_VOICE_SECONDS = 0.5
MAX_VOICE_SECONDS = 120.0

_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class VoiceError(Exception):
    """A voice cannot be stored or used; ``status`` is the HTTP code, ``str()`` one line."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class VoiceInfo:
    sha256: str
    path: Path
    size_bytes: int
    sample_rate: int
    seconds: float


def is_voice_hash(text: str) -> bool:
    """True for a lowercase hex sha256 (what ``speaker_wav`` holds for an uploaded voice)."""
    return bool(_HASH_RE.match(text or ""))


def probe_audio(data: bytes) -> tuple[int, float]:
    """``(sample_rate, seconds)`` of an audio file in memory; :class:`VoiceError` if it is not audio."""
    try:
        info = soundfile.info(io.BytesIO(data))
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError) as exc:
        raise VoiceError(f"not an audio file soundfile can read ({str(exc).splitlines()[0] if str(exc) else 'unknown format'})", 415) from None
    seconds = float(info.frames) / info.samplerate if info.samplerate else 0.0
    if not MIN_VOICE_SECONDS <= seconds <= MAX_VOICE_SECONDS:
        raise VoiceError(
            f"reference voice lasts {seconds:.2f} s; it must last {MIN_VOICE_SECONDS:g}-{MAX_VOICE_SECONDS:g} s", 422
        )
    return int(info.samplerate), seconds


class VoiceStore:
    """Uploaded voices under one folder, as ``<sha256>.wav``; safe to use from several threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._known: dict[str, VoiceInfo] = {}

    def get(self, sha256: str) -> Optional[VoiceInfo]:
        with self._lock:
            return self._known.get(sha256)

    def put(self, sha256: str, data: bytes) -> tuple[VoiceInfo, bool]:
        """Store ``data`` under its hash; ``(info, created)``. Raises :class:`VoiceError`."""
        if not is_voice_hash(sha256):
            raise VoiceError("voice id must be the sha256 of the file in lowercase hex (64 characters)", 422)
        if len(data) > MAX_VOICE_BYTES:
            raise VoiceError(f"reference voice is {len(data)} bytes (limit {MAX_VOICE_BYTES})", 413)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise VoiceError(f"body has sha256 {actual}, not the {sha256} named in the URL", 409)
        existing = self.get(sha256)
        if existing is not None:
            return existing, False
        rate, seconds = probe_audio(data)
        target = self.folder / f"{sha256}.wav"
        partial = self.folder / f".{sha256}.{os.getpid()}.{threading.get_ident()}.part"
        partial.write_bytes(data)
        partial.replace(target)
        info = VoiceInfo(sha256, target, len(data), rate, seconds)
        with self._lock:
            self._known[sha256] = info
        return info, True

    def resolve(self, speaker_wav: str) -> Path:
        """The file ``speaker_wav`` names: an uploaded hash, else a readable audio file on this host."""
        if is_voice_hash(speaker_wav):
            info = self.get(speaker_wav)
            if info is None:
                raise VoiceError(
                    f"voice {speaker_wav[:12]}... is not on this worker; upload it with PUT /voices/{speaker_wav}", 422
                )
            return info.path
        path = Path(speaker_wav).expanduser()
        if not path.is_file():
            raise VoiceError(f"speaker_wav {speaker_wav!r} is neither an uploaded voice nor a file on this host", 422)
        try:
            with path.open("rb") as handle:
                head = handle.read(MAX_VOICE_BYTES + 1)
        except OSError as exc:
            raise VoiceError(f"cannot read speaker_wav {speaker_wav!r}: {exc.strerror or exc}", 422) from None
        if len(head) > MAX_VOICE_BYTES:
            raise VoiceError(f"speaker_wav {speaker_wav!r} is larger than {MAX_VOICE_BYTES} bytes", 422)
        probe_audio(head)
        return path
