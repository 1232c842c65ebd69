"""What the worker's OpenAPI schema says beyond what FastAPI infers from the routes.

Every status code and content type an endpoint can answer is declared, so a client
generated from the schema (or schemathesis) meets no surprise; the parts only the
app knows (its engine's rules, whether a token guards it) are filled in when the
schema is first built.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .audio import MEDIA_TYPES
from .engines.base import Engine
from .protocol import ErrorResponse, InvalidRequestResponse
from .request_schema import tailor_request_schema

__all__ = ["unauthorised", "invalid", "metrics_responses", "chapter_responses", "download_responses",
           "cancel_responses", "finish_schema"]

Responses = dict[Any, dict[str, Any]]

_INVALID = "invalid request (one-line detail)"


def unauthorised(guarded: bool) -> Responses:
    return {401: {"model": ErrorResponse, "description": "missing or wrong bearer token"}} if guarded else {}


def invalid(description: str = _INVALID) -> Responses:
    return {422: {"model": InvalidRequestResponse, "description": description}}


def metrics_responses() -> Responses:
    return {
        200: {"content": {"text/plain": {"schema": {"type": "string"}}},
              "description": "Prometheus text exposition format"},
    }


def chapter_responses() -> Responses:
    return {
        400: {"model": ErrorResponse, "description": "the body cannot be parsed at all"},
        **invalid(),
        500: {"model": ErrorResponse, "description": "the engine failed on this unit"},
        503: {"model": ErrorResponse, "description": "busy: retry after the Retry-After seconds"},
    }


def download_responses() -> Responses:
    audio = {media: {"schema": {"type": "string", "format": "binary"}} for media in sorted(set(MEDIA_TYPES.values()))}
    return {
        200: {"content": audio, "description": "the audio an earlier audio_url named"},
        404: {"model": ErrorResponse, "description": "no such download (unknown or expired)"},
        **invalid(),
    }


def cancel_responses() -> Responses:
    return {404: {"model": ErrorResponse, "description": "no such unit in flight"}, **invalid()}


def finish_schema(app: FastAPI, engine: Engine, *, guarded: bool, verifies: bool = False) -> None:
    """State in the app's schema what its engine accepts (see :mod:`request_schema`) and, with a
    token, the bearer scheme on every endpoint but ``/health``.

    The engine's rules are only all known once it is loaded, so the schema is kept for later
    requests only from then on.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        app.openapi_schema = None  # FastAPI kept what it built: build afresh until the engine is loaded
        components = schema.setdefault("components", {})
        tailor_request_schema(schema, engine, verifies=verifies)
        chapter = schema.get("paths", {}).get("/process_chapter", {}).get("post", {})
        rule = _config_rule(engine)
        if rule and "422" in chapter.get("responses", {}):
            chapter["responses"]["422"]["description"] = f"{_INVALID}; {rule}"
        if guarded:
            components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            for path, operations in schema.get("paths", {}).items():
                if path != "/health":
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
        if engine.loaded:
            app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _config_rule(engine: Engine) -> str:
    """The refusals of this engine that no schema keyword can state."""
    rules = []
    if engine.clones_voices:
        rules.append("tts_config.speaker_wav must name a voice uploaded with PUT /voices/{sha256} or a WAV file "
                     "on the worker host, and tts_config.speaker one of the model's built-in speakers")
    if engine.languages:
        rules.append("tts_config.language must be one GET /status lists under languages")
    return "; ".join(rules)
