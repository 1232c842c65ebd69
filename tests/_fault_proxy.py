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
    marker: str          # fail requests whose sentences contain this text
    times: int = -1      # how many times to fail (-1 = always)
    failed: int = field(default=0)


class FaultProxy:
    def __init__(self, upstream: str, rules: list[FaultRule], *, token: str | None = None) -> None:
        self.upstream = upstream
        self.token = token
        self.rules = rules
        self.seen: list[str] = []  # chapter_ids of every /process_chapter that came through
        self.app = self._make_app()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
                                       daemon=True)

    def _make_app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST"])
        async def forward(path: str, request: Request) -> Response:
            body = await request.body()
            if path == "process_chapter":
                payload = await request.json()
                self.seen.append(str(payload.get("chapter_id")))
                text = " ".join(payload.get("sentences", []))
                for rule in self.rules:
                    if rule.marker in text and (rule.times < 0 or rule.failed < rule.times):
                        rule.failed += 1
                        return Response('{"detail": "injected failure"}', status_code=500,
                                        media_type="application/json")
            headers = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            async with httpx.AsyncClient(trust_env=False, timeout=300) as client:
                resp = await client.request(request.method, f"{self.upstream}/{path}", content=body,
                                            headers=headers)
            return Response(resp.content, status_code=resp.status_code,
                            media_type=resp.headers.get("content-type"))

        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
