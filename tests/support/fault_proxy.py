"""A real HTTP reverse proxy in front of a real worker that fails chosen units with 500.

This is a seam we own (the network between orchestrator and worker): the
orchestrator and the worker stay unmodified, the proxy only decides which
``/process_chapter`` requests never reach the worker.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response


@dataclass
class FaultRule:
    marker: str          # fail requests whose sentences contain this text ("" matches every request)
    times: int = -1      # how many times to fail (-1 = always)
    failed: int = field(default=0)
    status: int = 500    # the answer instead of the worker's (401: a rotated token)
    truncate: bool = False  # instead of an error: pass the unit through, but serve half of its audio
    skip: int = 0        # let this many matching requests through first
    matched: int = field(default=0)


class FaultProxy:
    def __init__(self, upstream: str, rules: list[FaultRule], *, token: str | None = None) -> None:
        self.upstream = upstream
        self.token = token
        self.rules = rules
        self.seen: list[str] = []  # chapter_ids of every /process_chapter that came through
        self.cut: dict[str, bytes] = {}  # download path -> the truncated audio served for it
        self.voice_requests = 0  # PUT /voices/... that came through
        #: seconds each audio download is held before it is served (a slow link); set while running
        self.download_delay = 0.0
        self.downloading = threading.Event()  # set while a download is being held
        self.app = self._make_app()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off",
                                                    timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True,
                                       name=f"fault-proxy-{self.port}")
        self._client: httpx.AsyncClient | None = None

    async def _serve(self) -> None:
        # one upstream client for the proxy's life; the upstream is plain HTTP on loopback, so no
        # trust store is loaded (a client per request would open the CA bundle each time)
        async with httpx.AsyncClient(trust_env=False, timeout=300, verify=False) as client:
            self._client = client
            await self.server.serve(sockets=[self.sock])

    def _make_app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT"])  # query strings pass through below
        async def forward(path: str, request: Request) -> Response:
            body = await request.body()
            if path.startswith("voices/") and request.method == "PUT":
                self.voice_requests += 1
            if path.startswith("download/") and self.download_delay:
                self.downloading.set()
                await asyncio.sleep(self.download_delay)
            if path.startswith("truncated/"):
                return Response(self.cut.get(path[len("truncated"):], b""), media_type="audio/flac")
            if path == "process_chapter":
                payload = await request.json()
                self.seen.append(str(payload.get("chapter_id")))
                text = " ".join(payload.get("sentences", []))
                for rule in self.rules:
                    if rule.marker not in text:
                        continue
                    rule.matched += 1
                    if rule.matched > rule.skip and (rule.times < 0 or rule.failed < rule.times):
                        rule.failed += 1
                        if rule.truncate:
                            return await self._truncated(body, request)
                        detail = "not authenticated" if rule.status == 401 else "injected failure"
                        return Response('{"detail": "%s"}' % detail, status_code=rule.status,
                                        media_type="application/json")
            headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-e2a-attempt")}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            assert self._client is not None
            resp = await self._client.request(request.method, f"{self.upstream}/{path}", content=body,
                                              headers=headers, params=dict(request.query_params))
            return Response(resp.content, status_code=resp.status_code,
                            media_type=resp.headers.get("content-type"))

        return app

    async def _truncated(self, body: bytes, request: Request) -> Response:
        """The worker's real answer, with its audio_url pointing at a copy cut in half."""
        import json

        headers = {"content-type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        client = self._client
        assert client is not None
        resp = await client.post(f"{self.upstream}/process_chapter", content=body, headers=headers)
        answer = resp.json()
        if resp.status_code == 200 and answer.get("audio_url"):
            path = httpx.URL(answer["audio_url"]).raw_path.decode()
            audio = await client.get(f"{self.upstream}{path}", headers=headers)
            self.cut[path] = audio.content[: len(audio.content) // 2]
            answer["audio_url"] = f"{self.url}/truncated{path}"
        return Response(json.dumps(answer), status_code=resp.status_code, media_type="application/json")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop for good: requests still held (a delayed download) are cut after a short grace, so
        the proxy never outlives its test and keeps working behind the next one's back."""
        self.server.should_exit = True
        self.thread.join(5)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(10)
        if self.thread.is_alive():
            raise RuntimeError(f"fault proxy on port {self.port} did not stop")
