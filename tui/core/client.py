"""HTTP client for one worker: the seed endpoints plus the binary download path.

Errors are sorted into what the scheduler needs to know: the worker is gone
(requeue at once), busy (try later), or the unit failed there (count it).
"""

from __future__ import annotations

import base64
import functools
import ssl
import time
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

from pydantic import BaseModel

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
    "WorkerAuthError",
    "SynthesisSettings",
    "VoiceError",
]


_M = TypeVar("_M", bound=BaseModel)


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One trust store for every worker client: loading it per client costs ~0.7 MB and 30 ms each."""
    return ssl.create_default_context()


class WorkerError(Exception):
    """Base of the client's errors; ``str()`` is a one-line description."""


class WorkerUnreachable(WorkerError):
    """Connection refused, reset or timed out: the worker (or its forward) is gone."""


class WorkerAuthError(WorkerError):
    """401/403: our token is wrong for this worker; retrying will not help."""


class WorkerBusy(WorkerError):
    """503: the worker has no room right now."""


class UnitRejected(WorkerError):
    """4xx: the request itself is wrong; another worker would refuse it too."""


class UnitFailed(WorkerError):
    """5xx, a timeout or bad audio: the unit failed on this worker."""


class VoiceError(WorkerError):
    """The voice sample cannot be used (unreadable, too large, refused by a worker); ``str()`` is one line."""


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
    """The whole worker protocol for one worker, with one mapping from HTTP trouble to errors.

    ``transport`` (or the endpoint's own transport) is the seam tests and non-TCP worker
    sources replace; everything above it is the same for every worker.
    """

    def __init__(
        self,
        endpoint: WorkerEndpoint,
        *,
        timeout: float = 600.0,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        headers = {"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else {}
        if transport is None and endpoint.transport is not None:
            transport = endpoint.transport()
        self._http = httpx.AsyncClient(
            base_url=endpoint.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            # idle connections are dropped before the worker's own keep-alive ends (uvicorn's default
            # is 5 s), so a reused connection is never one the worker is closing
            limits=httpx.Limits(keepalive_expiry=2.0),
            verify=_ssl_context(),
            transport=transport,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _transport_error(self, exc: httpx.HTTPError) -> WorkerError:
        """Connection-level trouble means the worker (or its forward) is gone; a slow answer or a
        garbled one means this request failed there."""
        text = f"{self.name}: {type(exc).__name__} {exc}".strip()
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadError, httpx.WriteError,
                            httpx.RemoteProtocolError, httpx.PoolTimeout)):
            return WorkerUnreachable(text)
        return UnitFailed(text)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; transport errors and a refused token become :class:`WorkerError` s."""
        try:
            resp = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if resp.status_code in (401, 403):
            raise WorkerAuthError(f"{self.name}: the worker refused our token ({resp.status_code})")
        return resp

    async def _get(self, path: str, timeout: float) -> httpx.Response:
        resp = await self._request("GET", path, timeout=timeout)
        if resp.status_code >= 400:
            raise UnitFailed(f"{self.name}: GET {path} answered {resp.status_code}")
        return resp

    async def health(self, timeout: float = 5.0) -> HealthResponse:
        resp = await self._get("/health", timeout)
        return _parse(HealthResponse, resp, self.name)

    async def status(self, timeout: float = 5.0) -> StatusResponse:
        """Also proves the token: unlike /health, /status requires it when the worker has one."""
        resp = await self._get("/status", timeout)
        return _parse(StatusResponse, resp, self.name)

    async def cancel(self, unit_id: str, attempt_id: Optional[int] = None, timeout: float = 2.0) -> bool:
        """Ask the worker to stop ``unit_id`` between sentences; False if it was not in flight there
        (or the worker could not be asked). Best effort: a dropped connection does the same."""
        params = {"attempt": str(attempt_id)} if attempt_id is not None else None
        try:
            resp = await self._request("POST", f"/cancel/{unit_id}", params=params, timeout=timeout)
        except WorkerError:
            return False
        return resp.status_code == 200

    async def has_voice(self, sha256: str, timeout: float = 30.0) -> bool:
        """Whether the worker already holds the voice sample named by ``sha256``."""
        resp = await self._request("GET", f"/voices/{sha256}", timeout=timeout)
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise VoiceError(f"{self.name}: GET /voices/{sha256} answered {resp.status_code}: "
                         f"{_detail(resp) or 'HTTP ' + str(resp.status_code)}")

    async def put_voice(self, sha256: str, data: bytes, label: str, timeout: float = 120.0) -> None:
        """Upload a voice sample; a refusal (not audio, too large) is a :class:`VoiceError`."""
        resp = await self._request("PUT", f"/voices/{sha256}", content=data, timeout=timeout,
                                   headers={"Content-Type": "application/octet-stream"})
        if resp.status_code not in (200, 201):
            raise VoiceError(f"{self.name} refused voice sample {label}: "
                             f"{_detail(resp) or 'HTTP ' + str(resp.status_code)}")

    async def synthesize(self, unit: WorkUnit, settings: SynthesisSettings,
                         attempt_id: Optional[int] = None) -> SynthesisResult:
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
        headers = {"X-E2A-Attempt": str(attempt_id)} if attempt_id is not None else None
        resp = await self._request("POST", "/process_chapter", json=request.model_dump(exclude_none=True),
                                   headers=headers)
        if resp.status_code == 503:
            raise WorkerBusy(f"{self.name}: busy")
        if 400 <= resp.status_code < 500:
            raise UnitRejected(f"{self.name}: {resp.status_code} {_detail(resp)}")
        if resp.status_code != 200:
            raise UnitFailed(f"{self.name}: {resp.status_code} {_detail(resp)}")
        body = _parse(ProcessChapterResponse, resp, self.name)
        if body.audio_url:
            audio = await self._download(body.audio_url)
        elif body.audio_base64:
            try:
                audio = base64.b64decode(body.audio_base64, validate=True)
            except ValueError:
                raise UnitFailed(f"{self.name}: response audio is not valid base64") from None
        else:
            raise UnitFailed(f"{self.name}: response carries no audio")
        return SynthesisResult(body, audio, time.monotonic() - started)

    async def _download(self, url: str) -> bytes:
        # The worker may name itself by an address we cannot reach (a forwarded port):
        # only the path matters, the base URL is ours.
        path = httpx.URL(url).raw_path.decode()
        chunks: list[bytes] = []
        try:
            async with self._http.stream("GET", path) as resp:
                if resp.status_code != 200:
                    raise UnitFailed(f"{self.name}: download answered {resp.status_code}")
                async for chunk in resp.aiter_bytes():
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        return b"".join(chunks)


def _parse(model: type[_M], resp: httpx.Response, name: str) -> _M:
    try:
        return model.model_validate(resp.json())
    except ValueError as exc:  # not JSON, or not the expected shape (pydantic errors are ValueErrors)
        raise UnitFailed(f"{name}: unexpected answer from the worker ({exc.__class__.__name__})") from None


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        detail = body.get("detail", "") if isinstance(body, dict) else body
    except ValueError:
        detail = resp.text[:200]
    return str(detail).splitlines()[0] if detail else ""
