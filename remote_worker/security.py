"""Who may talk to a worker: loopback without a token, anything else with one."""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path
from typing import Callable, Mapping, Optional

from fastapi import HTTPException, Request

__all__ = ["TOKEN_ENV", "TokenError", "is_loopback_host", "read_token", "bearer_guard"]

TOKEN_ENV = "E2A_WORKER_TOKEN"


class TokenError(Exception):
    """The token cannot be had. ``str(err)`` is a one-line message."""


def is_loopback_host(host: str) -> bool:
    """True only for names that cannot be reached from another machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(token_file: Optional[str], environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The token from ``token_file`` (first line), else from ``$E2A_WORKER_TOKEN``, else None."""
    env = os.environ if environ is None else environ
    if token_file:
        try:
            text = Path(token_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenError(f"cannot read token file {token_file}: {exc.strerror or exc}") from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not token:
            raise TokenError(f"token file {token_file} is empty")
        return token
    token = env.get(TOKEN_ENV, "").strip()
    return token or None


def bearer_guard(token: Optional[str]) -> Callable[[Request], None]:
    """A FastAPI dependency that answers 401 unless ``Authorization: Bearer <token>`` matches."""
    expected = token.encode("utf-8") if token else None

    def guard(request: Request) -> None:
        if expected is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8"), expected):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return guard
