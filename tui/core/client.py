"""HTTP client for one worker: the seed endpoints plus the binary download path.

Errors are sorted into what the scheduler needs to know: the worker is gone
(requeue at once), busy (try later), or the unit failed there (count it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import httpx

from remote_worker.protocol import (
    HealthResponse,
    ProcessChapterRequest,
    ProcessChapterResponse,
    StatusResponse,
    TTSConfig,
)

from ..book.model import WorkUnit
from .cluster import WorkerEndpoint

__all__ = [
    "WorkerClient",
    "SynthesisResult",
    "WorkerError",
    "WorkerUnreachable",
    "WorkerBusy",
    "UnitRejected",
    "UnitFailed",
    "SynthesisSettings",
]


class WorkerError(Exception):
    """Base of the client's errors; ``str()`` is a one-line description."""


class WorkerUnreachable(WorkerError):
    """Connection refused, reset or timed out: the worker (or its forward) is gone."""


class WorkerBusy(WorkerError):
    """503: the worker has no room right now."""


class UnitRejected(WorkerError):
    """4xx: the request itself is wrong; another worker would refuse it too."""


class UnitFailed(WorkerError):
    """5xx or bad audio: the unit failed on this worker."""


@dataclass(frozen=True)
class SynthesisResult:
    response: ProcessChapterResponse
    audio: bytes
    wall_seconds: float


@dataclass(frozen=True)
class SynthesisSettings:
    tts: TTSConfig
    audio_format: str = "flac"
    sentence_gap_ms: int = 250
    paragraph_gap_ms: int = 600
    trailing_gap_ms: int = 0


class WorkerClient:
    """One ``httpx.AsyncClient`` per worker; ``transport`` is the seam tests may replace."""

    def __init__(
        self,
        endpoint: WorkerEndpoint,
        *,
        timeout: float = 600.0,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        self.endpoint = endpoint
        headers = {"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else {}
        self._http = httpx.AsyncClient(
            base_url=endpoint.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            transport=transport,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, timeout: float) -> httpx.Response:
        try:
            resp = await self._http.get(path, timeout=timeout)
        except httpx.TransportError as exc:
            raise WorkerUnreachable(f"{self.endpoint.name}: {type(exc).__name__} {exc}".strip()) from None
        if resp.status_code == 401:
            raise UnitRejected(f"{self.endpoint.name}: not authorised (check the worker token)")
        if resp.status_code >= 400:
            raise UnitFailed(f"{self.endpoint.name}: GET {path} answered {resp.status_code}")
        return resp

    async def health(self, timeout: float = 5.0) -> HealthResponse:
        resp = await self._get("/health", timeout)
        return HealthResponse.model_validate(resp.json())

    async def status(self, timeout: float = 5.0) -> StatusResponse:
        resp = await self._get("/status", timeout)
        return StatusResponse.model_validate(resp.json())

    async def synthesize(self, unit: WorkUnit, settings: SynthesisSettings) -> SynthesisResult:
        """Send one unit, fetch its audio by URL (binary, no base64), return both."""
        request = ProcessChapterRequest(
            chapter_id=unit.id,
            sentences=list(unit.sentences),
            tts_config=settings.tts,
            response_mode="url",
            audio_format=settings.audio_format,  # type: ignore[arg-type]
            sentence_gap_ms=settings.sentence_gap_ms,
            paragraph_gap_ms=settings.paragraph_gap_ms,
            paragraph_starts=list(unit.paragraph_starts),
            trailing_gap_ms=settings.trailing_gap_ms,
        )
        started = time.monotonic()
        try:
            resp = await self._http.post("/process_chapter", json=request.model_dump(exclude_none=True))
        except httpx.TransportError as exc:
            raise WorkerUnreachable(f"{self.endpoint.name}: {type(exc).__name__} {exc}".strip()) from None
        if resp.status_code == 503:
            raise WorkerBusy(f"{self.endpoint.name}: busy")
        if resp.status_code in (401, 403):
            raise WorkerUnreachable(f"{self.endpoint.name}: not authorised (check the worker token)")
        if 400 <= resp.status_code < 500:
            raise UnitRejected(f"{self.endpoint.name}: {resp.status_code} {_detail(resp)}")
        if resp.status_code != 200:
            raise UnitFailed(f"{self.endpoint.name}: {resp.status_code} {_detail(resp)}")
        try:
            body = ProcessChapterResponse.model_validate(resp.json())
        except ValueError as exc:
            raise UnitFailed(f"{self.endpoint.name}: malformed response ({exc.__class__.__name__})") from None
        if body.audio_url:
            audio = await self._download(body.audio_url)
        elif body.audio_base64:
            import base64

            audio = base64.b64decode(body.audio_base64)
        else:
            raise UnitFailed(f"{self.endpoint.name}: response carries no audio")
        return SynthesisResult(body, audio, time.monotonic() - started)

    async def _download(self, url: str) -> bytes:
        # The worker may name itself by an address we cannot reach (a forwarded port):
        # only the path matters, the base URL is ours.
        path = httpx.URL(url).raw_path.decode()
        chunks: list[bytes] = []
        try:
            async with self._http.stream("GET", path) as resp:
                if resp.status_code != 200:
                    raise UnitFailed(f"{self.endpoint.name}: download answered {resp.status_code}")
                async for chunk in resp.aiter_bytes():
                    chunks.append(chunk)
        except httpx.TransportError as exc:
            raise WorkerUnreachable(f"{self.endpoint.name}: {type(exc).__name__} {exc}".strip()) from None
        return b"".join(chunks)


def _detail(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail", "")
    except ValueError:
        detail = resp.text[:200]
    return str(detail).splitlines()[0] if detail else ""
