"""Language tags → the primary language the text tools know about."""

from __future__ import annotations

__all__ = ["primary_language"]


def primary_language(tag: str, default: str = "en") -> str:
    """``en-US`` → ``en``, ``pt_BR`` → ``pt``; an empty tag gives ``default``."""
    tag = (tag or "").strip().replace("_", "-").lower()
    primary = tag.split("-", 1)[0]
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else default
