"""The request schema a worker serves, narrowed to what its engine accepts.

One wire model (``protocol.TTSConfig``) serves every engine; the schema each
worker publishes says what that worker's engine does with it, so a request the
schema allows is never refused for a reason the schema could have stated:

* an engine that cannot clone voices leaves out ``speaker_wav`` and ``speaker``
  (it ignores them, like any key it does not know: ``engine_config.py``);
* a multi-speaker model bounds ``speaker_id`` to its speakers;
* a worker without a speech recogniser allows only ``verify: false``.
"""

from __future__ import annotations

from typing import Any

from .engine_config import CLONING_FIELDS
from .engines.base import Engine

__all__ = ["tailor_request_schema"]


def tailor_request_schema(schema: dict[str, Any], engine: Engine, *, verifies: bool = False) -> None:
    """Edit the OpenAPI document ``schema`` in place for ``engine`` (and whether this worker verifies)."""
    config = schema.get("components", {}).get("schemas", {}).get("TTSConfig")
    if not isinstance(config, dict):
        return
    properties = config.get("properties", {})
    if not engine.clones_voices:
        for name in CLONING_FIELDS:
            properties.pop(name, None)
    verify = properties.get("verify")
    if not verifies and isinstance(verify, dict):
        verify["const"] = False  # asking a worker that cannot hear its audio back is refused with 422
    count = engine.speaker_id_count
    speaker_id = properties.get("speaker_id")
    if count and isinstance(speaker_id, dict):
        for branch in speaker_id.get("anyOf", [speaker_id]):
            if branch.get("type") == "integer":
                branch.update(minimum=0, maximum=count - 1)
        speaker_id["description"] = f"one of this voice's {count} speakers"
