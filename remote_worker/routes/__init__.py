"""The worker's endpoints, one router per concern; ``create_app`` includes them."""

from __future__ import annotations

from . import downloads, health, status, synthesis, voices

__all__ = ["health", "status", "voices", "synthesis", "downloads", "GUARDED"]

#: Routers behind the bearer token (when the worker has one), in the order the schema lists them.
GUARDED = (status.router, voices.router, synthesis.router, downloads.router)
