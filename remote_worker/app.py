"""The worker's HTTP face: the seed endpoints plus additive extensions.

``create_app`` only assembles: the state an app owns (``state.py``), the routers
(``routes/``), the error handler (``errors.py``) and the schema's last touches
(``apidocs.py``). The lifespan loads the engines once, makes a private temporary
folder and removes it at shutdown.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

from fastapi import Depends, FastAPI

from . import __version__, apidocs
from .cancels import ATTEMPT_HEADER
from .downloads import DEFAULT_TTL_SECONDS
from .engines.base import Engine
from .errors import install_error_handlers
from .gpu import GpuProbe
from .limits import check_limits
from .routes import GUARDED, health
from .security import bearer_guard
from .state import WorkerState
from .verifying import UnitVerification

__all__ = ["create_app", "check_limits", "ATTEMPT_HEADER"]


def create_app(
    engines: Union[Engine, Sequence[Engine]],
    *,
    token: Optional[str] = None,
    max_queued: int = 1,
    download_ttl: float = DEFAULT_TTL_SECONDS,
    temp_parent: Optional[str] = None,
    verification: Optional[UnitVerification] = None,
) -> FastAPI:
    """A worker app around ``engines``: one engine, or several copies of one model (replicas).

    ``token``: when set, every endpoint but ``/health`` wants ``Authorization: Bearer <token>``
    (and the schema is not served: it would tell a stranger what to send).
    ``max_queued``: units admitted behind the running one before 503.
    ``download_ttl``: seconds an ``audio_url`` stays fetchable.
    ``temp_parent``: where the private temporary folder goes (system default when None).
    ``verification``: the recogniser that serves ``tts_config.verify`` (None: requests asking are refused).
    """
    engine_list = [engines] if isinstance(engines, Engine) else list(engines)
    if not engine_list:
        raise ValueError("create_app needs at least one engine")
    state = WorkerState(engine_list, gpu=GpuProbe(), max_queued=max_queued, download_ttl=download_ttl,
                        temp_parent=temp_parent, verification=verification)
    guarded = token is not None
    app = FastAPI(
        title="e2a worker",
        version=__version__,
        lifespan=state.lifespan,
        docs_url=None if guarded else "/docs",
        redoc_url=None,
        openapi_url=None if guarded else "/openapi.json",
    )
    app.state.worker = state
    install_error_handlers(app, [health.router, *GUARDED])
    app.include_router(health.router)
    guard = Depends(bearer_guard(token))
    for router in GUARDED:
        app.include_router(router, dependencies=[guard], responses=apidocs.unauthorised(guarded))
    apidocs.finish_schema(app, state.engine, guarded=guarded, verifies=state.verification.available)
    return app
