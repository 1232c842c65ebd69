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
import threading
import time
from typing import AsyncIterator, Optional, Sequence, Union

import anyio
import numpy as np
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
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
    ReplicaStatus,
    SentenceTiming,
    StatusResponse,
    TTSConfig,
    VoiceResponse,
)
from .engine_runner import EngineRunner, RunnerFull
from .security import bearer_guard
from .textsafe import one_line
from .voices import MAX_VOICE_BYTES, VoiceError, VoiceInfo, VoiceStore
from .workdir import WorkDir, sweep_stale

__all__ = ["create_app", "check_limits", "ATTEMPT_HEADER"]

#: Request header naming the client's attempt, so ``POST /cancel/{id}?attempt=`` hits only that one.
ATTEMPT_HEADER = "X-E2A-Attempt"

_LOG = logging.getLogger(__name__)


def check_limits(body: ProcessChapterRequest, max_sentence_chars: int = MAX_SENTENCE_CHARS) -> Optional[str]:
    """Why ``body`` is beyond what the worker accepts, as one line; None when it is fine.

    Each rule here is also stated in the request schema. A sentence longer than the engine speaks
    at once is not refused: the worker splits it (``speaking.py``). ``paragraph_starts`` entries
    past the last sentence are not refused either: no schema can tie them to the length of
    ``sentences``, and a paragraph break after the end changes nothing, so they are ignored.
    """
    sentences = body.sentences
    if len(sentences) > MAX_SENTENCES:
        return f"too many sentences: {len(sentences)} (limit {MAX_SENTENCES})"
    limit = max_sentence_chars
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

    def __init__(self, engines: Sequence[Engine], max_queued: int, download_ttl: float,
                 temp_parent: Optional[str]) -> None:
        self.engines = list(engines)
        self.engine = self.engines[0]
        self.runner = EngineRunner(self.engines, max_queued=max_queued)
        self.gpu = GpuProbe()
        self.metrics = WorkerMetrics(
            self.gpu, queued=lambda: float(self.runner.queued), busy=lambda: float(self.runner.busy),
            replicas=lambda: [(r.index, r.busy_seconds_now(), r.busy) for r in self.runner.replicas],
        )
        self.voices: Optional[VoiceStore] = None
        self.download_ttl = download_ttl
        self.temp_parent = temp_parent
        self.downloads: Optional[DownloadStore] = None
        self.work_dir: Optional[WorkDir] = None
        self.started = time.monotonic()
        self.units_done = 0
        self.units_failed = 0
        #: unit id (as text) → (attempt tag, cancel flag) of each of its requests in this worker
        self.cancels: dict[str, list[tuple[str, threading.Event]]] = {}
        self.audio_seconds = 0.0

    async def open(self) -> None:
        for engine in self.engines:  # one after another: loading copies at once only races for memory
            await anyio.to_thread.run_sync(engine.load)
        await anyio.to_thread.run_sync(sweep_stale, self.temp_parent)
        self.work_dir = WorkDir(self.temp_parent)
        self.downloads = DownloadStore(self.work_dir.path, self.download_ttl)
        self.voices = VoiceStore(self.work_dir.path / "voices")
        self.gpu.open()
        self.metrics.info.info(
            {
                "engine": self.engine.name,
                "voice": self.engine.voice,
                "device": self.engine.device,
                "provider": self.engine.provider,
                "version": __version__,
                "model": self.engine.model,
                "replicas": str(len(self.engines)),
            }
        )
        self.started = time.monotonic()

    @property
    def model_memory_mb(self) -> Optional[float]:
        values = [e.memory_mb for e in self.engines]
        return None if any(v is None for v in values) else float(sum(values))  # type: ignore[arg-type]

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
    engines: Union[Engine, Sequence[Engine]],
    *,
    token: Optional[str] = None,
    max_queued: int = 1,
    download_ttl: float = DEFAULT_TTL_SECONDS,
    temp_parent: Optional[str] = None,
) -> FastAPI:
    """A worker app around ``engines``: one engine, or several copies of one model (replicas).

    ``token``: when set, every endpoint but ``/health`` wants ``Authorization: Bearer <token>``.
    ``max_queued``: units admitted behind the running one before 503.
    ``download_ttl``: seconds an ``audio_url`` stays fetchable.
    ``temp_parent``: where the private temporary folder goes (system default when None).
    """
    engine_list = [engines] if isinstance(engines, Engine) else list(engines)
    if not engine_list:
        raise ValueError("create_app needs at least one engine")
    engine = engine_list[0]
    worker = _Worker(engine_list, max_queued, download_ttl, temp_parent)

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
            model=engine.model,
            device=engine.device,
            replicas=len(engine_list),
            model_memory_mb=worker.model_memory_mb,
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
            model=engine.model,
            replicas=len(runner.replicas),
            running=runner.running,
            peak_running=runner.peak_running,
            model_memory_mb=worker.model_memory_mb,
            replica_status=[
                ReplicaStatus(index=r.index, busy=r.busy, current_chapter=r.current, units_done=r.units_done,
                              busy_seconds=r.busy_seconds_now(), model_memory_mb=r.engine.memory_mb)
                for r in runner.replicas
            ],
            languages=engine.languages,
            speakers=engine.speakers,
        )

    def _voice_response(info: VoiceInfo, created: bool = False) -> VoiceResponse:
        return VoiceResponse(sha256=info.sha256, size_bytes=info.size_bytes, sample_rate=info.sample_rate,
                             seconds=info.seconds, created=created)

    @guarded.api_route(
        "/voices/{sha256}",
        methods=["GET", "PUT"],
        response_model=VoiceResponse,
        responses={
            201: {"description": "stored (PUT)", "model": VoiceResponse},
            404: {"description": "no such voice here (GET)"},
            409: {"description": "the body's sha256 is not the one named in the URL (PUT)"},
            413: {"description": "larger than 16 MiB (PUT)"},
            415: {"description": "not audio (PUT)"},
            422: {"description": "not a sha256, or audio too short or too long (PUT)"},
            **apidocs.unauthorised(guarded_by_token),
        },
        openapi_extra={"requestBody": {"required": False, "content": {
            "audio/wav": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
    )
    async def voice(request: Request, sha256: str = PathParam(pattern="^[0-9a-f]{64}$")) -> JSONResponse:
        """GET: is this reference voice here? PUT: store it (the URL names the file's sha256, so a
        client checks with GET and never sends the same voice twice)."""
        if request.method == "GET":
            info = worker.voices.get(sha256) if worker.voices is not None else None
            if info is None:
                raise HTTPException(status_code=404, detail=f"no voice {sha256} on this worker")
            return JSONResponse(content=_voice_response(info).model_dump())
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_VOICE_BYTES:
            raise HTTPException(status_code=413, detail=f"reference voice larger than {MAX_VOICE_BYTES} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_VOICE_BYTES:
                raise HTTPException(status_code=413, detail=f"reference voice larger than {MAX_VOICE_BYTES} bytes")
            chunks.append(chunk)
        assert worker.voices is not None
        try:
            info, created = await anyio.to_thread.run_sync(worker.voices.put, sha256, b"".join(chunks))
        except VoiceError as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from None
        return JSONResponse(status_code=201 if created else 200,
                            content=_voice_response(info, created).model_dump())

    async def _prepare_config(config: TTSConfig) -> TTSConfig:
        """Turn an uploaded voice's hash into its file and let the engine refuse what it cannot speak."""
        if config.speaker_wav:
            assert worker.voices is not None
            try:
                path = await anyio.to_thread.run_sync(worker.voices.resolve, config.speaker_wav)
            except VoiceError as exc:
                raise HTTPException(status_code=exc.status, detail=str(exc)) from None
            config = config.model_copy(update={"speaker_wav": str(path)})
        problem = engine.check_config(config)
        if problem is not None:
            raise HTTPException(status_code=422, detail=problem)
        return config

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
        problem = check_limits(body)
        if problem is not None:
            worker.metrics.units.labels("invalid").inc()
            raise HTTPException(status_code=422, detail=problem)
        try:
            tts_config = await _prepare_config(body.tts_config)
        except HTTPException:
            worker.metrics.units.labels("invalid").inc()
            raise
        runner = worker.runner
        try:
            runner.admit()
        except RunnerFull as exc:
            worker.metrics.units.labels("rejected").inc()
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "1"}) from None

        began = time.monotonic()
        cancel = threading.Event()
        key = str(body.chapter_id)
        entry = (request.headers.get(ATTEMPT_HEADER, ""), cancel)
        worker.cancels.setdefault(key, []).append(entry)
        watcher = asyncio.create_task(_watch_disconnect(request, cancel))
        try:
            synthesis = await runner.synthesize(
                body.chapter_id, body.sentences, tts_config, _flag_reader(cancel), cancel
            )
        except EngineError as exc:
            return _failed(one_line(f"engine {engine.name} failed: {exc}"))
        except Exception as exc:  # any engine bug must still come back as one JSON line
            _LOG.exception("synthesis of unit %r failed", body.chapter_id)
            return _failed(one_line(f"synthesis failed: {type(exc).__name__}: {exc}"))
        finally:
            runner.leave()
            watcher.cancel()
            flags = worker.cancels.get(key, [])
            if entry in flags:
                flags.remove(entry)
            if not flags:
                worker.cancels.pop(key, None)
        if synthesis is None:
            worker.metrics.units.labels("abandoned").inc()
            _LOG.info("unit %r dropped: %s", body.chapter_id,
                      "cancelled" if cancel.is_set() else "client went away while it was queued")
            raise HTTPException(status_code=499, detail="cancelled" if cancel.is_set() else "client closed the request")

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
            sentence_timings=_timings(assembled.timings_seconds(), synthesis.sentences),
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

    @guarded.post("/cancel/{chapter_id}", responses={404: {"description": "no such unit in flight"},
                                                     **apidocs.unauthorised(guarded_by_token)})
    async def cancel_unit(chapter_id: str, attempt: Optional[str] = None) -> dict:
        """Stop a unit between two sentences (a protocol extension; a dropped connection does the same).

        ``attempt`` (the ``X-E2A-Attempt`` header its request carried) narrows it to one attempt, so a
        late cancel never stops a newer attempt at the same unit.
        """
        flags = [flag for tag, flag in worker.cancels.get(chapter_id, []) if attempt is None or tag == attempt]
        if not flags:
            raise HTTPException(status_code=404, detail=f"unit {chapter_id} is not in flight here")
        for flag in flags:
            flag.set()
        return {"cancelled": len(flags)}

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
    apidocs.finish_schema(app, MAX_SENTENCE_CHARS, guarded=guarded_by_token)  # longer ones are split, not refused
    return app


def _silence(sample_rate: int, milliseconds: int, sentences: int) -> AssembledAudio:
    """At least one sample of silence; every sentence a zero-length span at its start."""
    samples = np.zeros(max(1, silence_samples(milliseconds, sample_rate)), dtype=np.float32)
    return AssembledAudio(samples=samples, sample_rate=sample_rate, spans=[(0, 0)] * sentences)


def _timings(spans: list[tuple[float, float]], spoken: list) -> list[SentenceTiming]:
    """Sentence spans plus how each was spoken (pieces, second take, what the check found)."""
    out = []
    for index, (start, end) in enumerate(spans):
        said = spoken[index] if index < len(spoken) else None
        if said is None:
            out.append(SentenceTiming(start=start, end=end))
        else:
            out.append(SentenceTiming(start=start, end=end, pieces=said.pieces,
                                      resynthesised=said.resynthesised, warning=said.warning))
    return out


def _flag_reader(flag: threading.Event):
    """``abandoned()`` for the runner: the watcher below is the one place that polls the connection."""

    async def abandoned() -> bool:
        return flag.is_set()

    return abandoned


async def _watch_disconnect(request: Request, cancel: threading.Event, period: float = 0.1) -> None:
    """Set ``cancel`` when the client goes away, so a cancelled attempt stops between sentences."""
    while not cancel.is_set():
        if await request.is_disconnected():
            cancel.set()
            return
        await asyncio.sleep(period)


def _encode_and_hash(samples: np.ndarray, sample_rate: int, audio_format: str) -> tuple[bytes, str]:
    data = encode(samples, sample_rate, audio_format)
    return data, hashlib.sha256(data).hexdigest()
