"""The one exception assembly raises, so the CLI can print it as a single line."""

from __future__ import annotations

__all__ = ["AssemblyError"]


class AssemblyError(Exception):
    """Audio cannot be assembled. ``str(err)`` is a one-line message meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
