"""The worker's HTTP face: the seed endpoints plus additive extensions.

``create_app`` takes an engine that may or may not be loaded yet; the lifespan
loads it once, makes a private temporary folder and removes it at shutdown.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import time
from typing import AsyncIterator, Optional

import anyio
import numpy as np
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response

from . import __version__, apidocs
from .audio import MEDIA_TYPES, AssembledAudio, assemble, encode, silence_samples
from .downloads import DEFAULT_TTL_SECONDS, DownloadStore
from .engines.base import Engine, EngineError
from .gpu import GpuProbe
from .metrics import CONTENT_TYPE, WorkerMetrics
from .protocol import (
    MAX_SENTENCE_CHARS,
    MAX_SENTENCES,
    MAX_TOTAL_CHARS,
    HealthResponse,
    ProcessChapterRequest,
    ProcessChapterResponse,
    SentenceTiming,
    StatusResponse,
)
from .scheduler import EngineRunner, WorkerBusy
from .security import bearer_guard
from .textsafe import one_line
from .workdir import WorkDir, sweep_stale

__all__ = ["create_app", "check_limits"]

_LOG = logging.getLogger(__name__)

def check_limits(body: ProcessChapterRequest, engine_max_chars: int) -> Optional[str]:
    """Why ``body`` is beyond what the worker accepts, as one line; None when it is fine.

    Each rule here is also stated in the request schema. ``paragraph_starts`` entries past the
    last sentence are not refused: no schema can tie them to the length of ``sentences``, and a
    paragraph break after the end changes nothing, so they are ignored.
    """
    sentences = body.sentences
    if len(sentences) > MAX_SENTENCES:
        return f"too many sentences: {len(sentences)} (limit {MAX_SENTENCES})"
    limit = min(MAX_SENTENCE_CHARS, engine_max_chars)
    for index, sentence in enumerate(sentences):
        if len(sentence) > limit:
            return f"sentence {index} has {len(sentence)} characters (limit {limit})"
    total = sum(len(s) for s in sentences)
    if total > MAX_TOTAL_CHARS:
        return f"request has {total} characters in all (limit {MAX_TOTAL_CHARS})"
    if not any(s.strip() for s in sentences):
        return "nothing to speak: every sentence is empty"
    return None


def _validation_summary(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return one_line("invalid request: " + "; ".join(parts))


class _Worker:
    """Everything one app instance owns; built in ``create_app``, opened by the lifespan."""

    def __init__(self, engine: Engine, max_queued: int, download_ttl: float, temp_parent: Optional[str]) -> None:
        self.engine = engine
        self.runner = EngineRunner(engine, max_queued=max_queued)
        self.gpu = GpuProbe()
        self.metrics = WorkerMetrics(
            self.gpu, queued=lambda: float(self.runner.queued), busy=lambda: float(self.runner.busy)
        )
        self.download_ttl = download_ttl
        self.temp_parent = temp_parent
        self.downloads: Optional[DownloadStore] = None
        self.work_dir: Optional[WorkDir] = None
        self.started = time.monotonic()
        self.units_done = 0
        self.units_failed = 0
        self.audio_seconds = 0.0

    async def open(self) -> None:
        await anyio.to_thread.run_sync(self.engine.load)
        await anyio.to_thread.run_sync(sweep_stale, self.temp_parent)
        self.work_dir = WorkDir(self.temp_parent)
        self.downloads = DownloadStore(self.work_dir.path, self.download_ttl)
        self.gpu.open()
        self.metrics.info.info(
            {
                "engine": self.engine.name,
                "voice": self.engine.voice,
                "device": self.engine.device,
                "provider": self.engine.provider,
                "version": __version__,
            }
        )
        self.started = time.monotonic()

    def close(self) -> None:
        self.runner.shutdown()
        self.gpu.close()
        if self.work_dir is not None:
            self.work_dir.close()

    async def reap_downloads(self) -> None:
        """Delete expired downloads now and then, so an idle worker frees its disk too."""
        period = max(1.0, min(60.0, self.download_ttl / 4))
        while True:
            await asyncio.sleep(period)
            if self.downloads is not None:
                self.downloads.expire()


def create_app(
    engine: Engine,
    *,
    token: Optional[str] = None,
    max_queued: int = 1,
    download_ttl: float = DEFAULT_TTL_SECONDS,
    temp_parent: Optional[str] = None,
) -> FastAPI:
    """A worker app around ``engine``.

    ``token``: when set, every endpoint but ``/health`` wants ``Authorization: Bearer <token>``.
    ``max_queued``: units admitted behind the running one before 503.
    ``download_ttl``: seconds an ``audio_url`` stays fetchable.
    ``temp_parent``: where the private temporary folder goes (system default when None).
    """
    worker = _Worker(engine, max_queued, download_ttl, temp_parent)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await worker.open()
        reaper = asyncio.create_task(worker.reap_downloads())
        try:
            yield
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
            worker.close()

    docs = token is None
    guarded_by_token = token is not None
    app = FastAPI(
        title="e2a worker",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.worker = worker

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        worker.metrics.units.labels("invalid").inc()
        return JSONResponse(
            status_code=422,
            content={"detail": _validation_summary(exc), "errors": jsonable_encoder(exc.errors())},
        )

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        return HealthResponse(
            status="healthy",
            gpu_available=worker.gpu.available,
            model_loaded=engine.loaded,
            engine=engine.name,
            version=__version__,
        )

    guarded = APIRouter(dependencies=[Depends(bearer_guard(token))])

    @guarded.get("/status", response_model=StatusResponse, responses=apidocs.unauthorised(guarded_by_token))
    async def status() -> StatusResponse:
        runner = worker.runner
        snap = worker.gpu.snapshot()
        return StatusResponse(
            status="busy" if runner.busy else "idle",
            current_chapter=runner.current,
            gpu_memory_free_mb=int(snap.memory_free_mb or 0),
            uptime_seconds=int(time.monotonic() - worker.started),
            queued=runner.queued,
            engine=engine.name,
            voice=engine.voice,
            device=engine.device,
            provider=engine.provider,
            threads=engine.threads,
            gpu_name=snap.name,
            gpu_memory_used_mb=snap.memory_used_mb,
            gpu_memory_total_mb=snap.memory_total_mb,
            gpu_utilization_percent=snap.utilization_percent,
            units_done=worker.units_done,
            units_failed=worker.units_failed,
            audio_seconds=worker.audio_seconds,
            synthesis_seconds=runner.engine_seconds,
            version=__version__,
        )

    @guarded.get(
        "/metrics",
        response_class=Response,
        responses=apidocs.metrics_responses(guarded_by_token),
    )
    async def metrics() -> Response:
        return Response(worker.metrics.render(), media_type=CONTENT_TYPE)

    @guarded.post(
        "/process_chapter",
        response_model=ProcessChapterResponse,
        response_model_exclude_none=True,
        responses=apidocs.chapter_responses(guarded_by_token),
    )
    async def process_chapter(body: ProcessChapterRequest, request: Request) -> ProcessChapterResponse:
        problem = check_limits(body, engine.max_chars)
        if problem is not None:
            worker.metrics.units.labels("invalid").inc()
            raise HTTPException(status_code=422, detail=problem)
        runner = worker.runner
        try:
            runner.admit()
        except WorkerBusy as exc:
            worker.metrics.units.labels("rejected").inc()
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "1"}) from None

        began = time.monotonic()
        try:
            synthesis = await runner.synthesize(
                body.chapter_id, body.sentences, body.tts_config, request.is_disconnected
            )
        except EngineError as exc:
            return _failed(one_line(f"engine {engine.name} failed: {exc}"))
        except Exception as exc:  # any engine bug must still come back as one JSON line
            _LOG.exception("synthesis of unit %r failed", body.chapter_id)
            return _failed(one_line(f"synthesis failed: {type(exc).__name__}: {exc}"))
        finally:
            runner.leave()
        if synthesis is None:
            worker.metrics.units.labels("abandoned").inc()
            _LOG.info("unit %r dropped: client went away while it was queued", body.chapter_id)
            raise HTTPException(status_code=499, detail="client closed the request")

        rate = engine.sample_rate
        assembled = assemble(
            synthesis.pieces,
            rate,
            sentence_gap_ms=body.sentence_gap_ms,
            paragraph_gap_ms=body.paragraph_gap_ms,
            paragraph_starts=body.paragraph_starts,
            trailing_gap_ms=body.trailing_gap_ms,
        )
        if not any(end > start for start, end in assembled.spans):
            # Text that is not blank but has nothing to pronounce ("—", "…"): the schema allows it, so it
            # is answered, with a short silence rather than a refusal that would fail the unit for good.
            assembled = _silence(rate, max(body.trailing_gap_ms, body.sentence_gap_ms), len(body.sentences))
        data, digest = await anyio.to_thread.run_sync(_encode_and_hash, assembled.samples, rate, body.audio_format)

        response = ProcessChapterResponse(
            chapter_id=body.chapter_id,
            duration=assembled.duration,
            num_sentences=len(body.sentences),
            sample_rate=rate,
            num_samples=assembled.num_samples,
            format=body.audio_format,
            sha256=digest,
            size_bytes=len(data),
            sentence_timings=[SentenceTiming(start=s, end=e) for s, e in assembled.timings_seconds()],
            synthesis_seconds=synthesis.engine_seconds,
            engine=engine.name,
            voice=engine.voice,
        )
        if body.response_mode == "url":
            assert worker.downloads is not None
            item = await anyio.to_thread.run_sync(worker.downloads.put, data, body.audio_format)
            response.audio_url = str(request.url_for("download", file_id=item.name))
        else:
            response.audio_base64 = base64.b64encode(data).decode("ascii")

        worker.units_done += 1
        worker.audio_seconds += assembled.duration
        worker.metrics.units.labels("ok").inc()
        worker.metrics.sentences.inc(len(body.sentences))
        worker.metrics.audio_seconds.inc(assembled.duration)
        worker.metrics.synthesis_seconds.inc(synthesis.engine_seconds)
        worker.metrics.unit_seconds.observe(time.monotonic() - began)
        return response

    def _failed(detail: str) -> JSONResponse:
        worker.units_failed += 1
        worker.metrics.units.labels("failed").inc()
        return JSONResponse(status_code=500, content={"detail": detail})

    @guarded.get(
        "/download/{file_id}",
        name="download",
        response_class=FileResponse,
        responses=apidocs.download_responses(guarded_by_token),
    )
    async def download(file_id: str) -> FileResponse:
        item = worker.downloads.get(file_id) if worker.downloads is not None else None
        if item is None:
            raise HTTPException(status_code=404, detail="no such download (unknown or expired)")
        return FileResponse(item.path, media_type=MEDIA_TYPES[item.audio_format], filename=item.name)

    app.include_router(guarded)
    apidocs.finish_schema(app, min(MAX_SENTENCE_CHARS, engine.max_chars), guarded=guarded_by_token)
    return app


def _silence(sample_rate: int, milliseconds: int, sentences: int) -> AssembledAudio:
    """At least one sample of silence; every sentence a zero-length span at its start."""
    samples = np.zeros(max(1, silence_samples(milliseconds, sample_rate)), dtype=np.float32)
    return AssembledAudio(samples=samples, sample_rate=sample_rate, spans=[(0, 0)] * sentences)


def _encode_and_hash(samples: np.ndarray, sample_rate: int, audio_format: str) -> tuple[bytes, str]:
    data = encode(samples, sample_rate, audio_format)
    return data, hashlib.sha256(data).hexdigest()
