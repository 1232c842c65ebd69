"""The worker's own error replies where FastAPI's defaults fall short.

* A body that fails validation: 422 with a one-line ``detail`` and pydantic's findings. The
  findings echo the client's input, which may hold what JSON cannot carry back as is (a lone
  surrogate, a number too large for a float): such values are sent back escaped rather than
  failing the reply with a 500.
* A method a path does not take: 405 whose ``Allow`` lists every method of that path, also when
  the path is served by one route per method (Starlette names only the first route's).
"""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .state import worker_state
from .textsafe import one_line

__all__ = ["install_error_handlers", "validation_summary"]


def install_error_handlers(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Answer validation failures with the worker's own 422 body, counted as ``invalid`` units, and
    name in a 405's ``Allow`` every method ``routers`` (all the app's routers) take on the path."""

    async def invalid_body(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        worker_state(request).stats.invalid()
        return _JsonSafeResponse(
            status_code=422,
            content={"detail": validation_summary(exc), "errors": jsonable_encoder(exc.errors())},
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(_methods_of(request, routers))}
        return await http_exception_handler(request, exc)

    app.add_exception_handler(RequestValidationError, invalid_body)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _methods_of(request: Request, routers: Sequence[APIRouter]) -> list[str]:
    """Every method some route of ``routers`` takes on the request's path."""
    methods: set[str] = set()
    for router in routers:
        for route in router.routes:
            route_methods = getattr(route, "methods", None)
            if route_methods and route.matches(request.scope)[0] != Match.NONE:
                methods.update(route_methods)
    return sorted(methods)


def validation_summary(exc: RequestValidationError) -> str:
    """The first few findings as one line: ``invalid request: sentences.0: Input should be ...``."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return one_line("invalid request: " + "; ".join(parts))


class _JsonSafeResponse(JSONResponse):
    """FastAPI's JSON rendering, falling back to escaped text for input it cannot encode."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except (UnicodeEncodeError, ValueError):
            return json.dumps(_finite(content), ensure_ascii=True, allow_nan=False,
                              separators=(",", ":")).encode("ascii")


def _finite(value: Any) -> Any:
    """``value`` with infinities and NaN written as strings (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
