"""What the worker's OpenAPI schema says beyond what FastAPI infers from the routes.

Every status code and content type an endpoint can answer is declared, so a client
generated from the schema (or schemathesis) meets no surprise; the parts only the
app knows (the engine's sentence limit, whether a token guards it) are filled in
when the schema is first built.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .audio import MEDIA_TYPES
from .protocol import ErrorResponse, InvalidRequestResponse

__all__ = ["unauthorised", "invalid", "metrics_responses", "chapter_responses", "download_responses",
           "finish_schema"]

Responses = dict[Any, dict[str, Any]]


def unauthorised(guarded: bool) -> Responses:
    return {401: {"model": ErrorResponse, "description": "missing or wrong bearer token"}} if guarded else {}


def invalid() -> Responses:
    return {422: {"model": InvalidRequestResponse, "description": "invalid request (one-line detail)"}}


def metrics_responses(guarded: bool) -> Responses:
    return {
        200: {"content": {"text/plain": {"schema": {"type": "string"}}},
              "description": "Prometheus text exposition format"},
        **unauthorised(guarded),
    }


def chapter_responses(guarded: bool) -> Responses:
    return {
        400: {"model": ErrorResponse, "description": "the body cannot be parsed at all"},
        **invalid(),
        500: {"model": ErrorResponse, "description": "the engine failed on this unit"},
        503: {"model": ErrorResponse, "description": "busy: retry after the Retry-After seconds"},
        **unauthorised(guarded),
    }


def download_responses(guarded: bool) -> Responses:
    audio = {media: {"schema": {"type": "string", "format": "binary"}} for media in sorted(set(MEDIA_TYPES.values()))}
    return {
        200: {"content": audio, "description": "the audio an earlier audio_url named"},
        404: {"model": ErrorResponse, "description": "no such download (unknown or expired)"},
        **invalid(),
        **unauthorised(guarded),
    }


def finish_schema(app: FastAPI, max_chars: int, *, guarded: bool) -> None:
    """State in the app's schema this engine's sentence limit (the model states the global one) and,
    with a token, the bearer scheme on every endpoint but ``/health``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {})
            request = components.get("schemas", {}).get("ProcessChapterRequest", {})
            items = request.get("properties", {}).get("sentences", {}).get("items")
            if isinstance(items, dict):
                items["maxLength"] = max_chars
            if guarded:
                components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                for path, operations in schema.get("paths", {}).items():
                    if path != "/health":
                        for operation in operations.values():
                            operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
