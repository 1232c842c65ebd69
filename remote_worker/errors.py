"""A body that fails validation: 422 with a one-line ``detail`` and pydantic's findings, always as JSON.

The findings echo the client's input, which may hold what JSON cannot carry back
as is (a lone surrogate, a number too large for a float): such values are sent
back escaped rather than failing the reply with a 500.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .textsafe import one_line

__all__ = ["install_error_handlers", "validation_summary"]


def install_error_handlers(app: FastAPI) -> None:
    """Answer validation failures with the worker's own 422 body, counted as ``invalid`` units."""

    async def invalid_body(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        request.app.state.worker.stats.invalid()
        return _JsonSafeResponse(
            status_code=422,
            content={"detail": validation_summary(exc), "errors": jsonable_encoder(exc.errors())},
        )

    app.add_exception_handler(RequestValidationError, invalid_body)


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
