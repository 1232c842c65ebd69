"""Models of the orchestrator's own ``/progress`` endpoint (the seed's optional master API).

They never cross the worker wire, so they live beside the progress server, not in
``remote_worker.protocol``.
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel

__all__ = ["ProgressResponse"]


class ProgressResponse(BaseModel):
    """The master's optional ``GET /progress/{session_id}``."""

    session_id: str
    total_chapters: int
    completed_chapters: int
    progress_percent: float
    estimated_time_remaining: Optional[float] = None
    # extensions
    total_units: int = 0
    completed_units: int = 0
    failed_units: int = 0
