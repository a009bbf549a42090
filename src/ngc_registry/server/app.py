"""The ASGI application: one port for the NGC API, the OCI distribution API and (later) the web UI."""

from __future__ import annotations

import hmac
import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import select

from .. import __version__
from .db.base import make_engine, make_read_only_engine, make_sessionmaker, transaction
from .db.tables import Setting
from .rendering import install_error_handlers
from .routes import (ngc_artifacts, ngc_identity, ngc_images, ngc_members, ngc_orgs, ngc_search, ngc_uploads, oci,
                     storage)
from .routes import ngc_audit, ops, ui
from .body_limit import BodyLimit
from .direct_reads import DirectReads
from .openapi import install_openapi
from .services.metrics import Metrics
from .services.bootstrap import TOKEN_SECRET
from .settings import Settings

access_log = logging.getLogger("ngc_registry.access")

def _loggable(path: str) -> str:
    """A signed storage URL is a credential: log that one was used, not the URL."""
    return "/_storage/<signed>" if path.startswith("/_storage/") else path


class AccessLog:
    """One line per request on stderr: method, path without the query (it may carry signatures), status, time."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [0]

        async def capture(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info('%s "%s %s" %d %.1fms', client[0], scope["method"], _loggable(scope["path"]), status[0],
                            (time.perf_counter() - started) * 1000)


def _load_token_secret(sessions) -> str:
    with transaction(sessions) as session:
        secret = session.scalar(select(Setting.value).where(Setting.key == TOKEN_SECRET))
    if not secret:
        raise RuntimeError("The database is not initialised: run 'ngc-registry init' first.")
    return secret


@asynccontextmanager
async def _closing_engines(app: FastAPI):
    yield
    for sessions in (app.state.sessions, app.state.read_sessions):
        if sessions is not None:
            sessions.kw["bind"].dispose()


def create_app(settings: Settings, store=None) -> FastAPI:
    """The app; `store` is the configured blob store when the caller has opened it already."""
    app = FastAPI(title="NGC Registry", version=__version__, docs_url=None, redoc_url=None, lifespan=_closing_engines)
    engine = make_engine(settings.db_url)
    app.state.settings = settings
    app.state.sessions = make_sessionmaker(engine)
    read_only = make_read_only_engine(settings.db_url)
    app.state.read_sessions = make_sessionmaker(read_only) if read_only is not None else None
    app.state.token_secret = _load_token_secret(app.state.sessions)
    app.state.storage_secret = hmac.new(app.state.token_secret.encode(), b"storage", "sha256").hexdigest()
    app.state.store = store or settings.open_store()
    app.state.metrics = Metrics(app.state.sessions)
    install_error_handlers(app)
    # Routes are matched one by one in this order (each check ~3 us), by FastAPI and by DirectReads for the hot
    # reads: the busiest small requests' routers first.
    # No path of one router matches a route of another, so the order decides nothing else.
    routers = [module.router for module in (ngc_identity, ngc_artifacts, ops, ngc_orgs, ngc_members, ngc_search,
                                            ngc_uploads, ngc_images, ngc_audit, storage, oci)]
    for router in routers:  # JSON and form bodies are limited; blob and part bodies stream
        app.include_router(router, max_body_size=None if router in (storage.router, oci.router)
                           else settings.max_json_bytes)
    app.add_middleware(DirectReads, routes=[route for router in routers for route in router.routes],
                       handlers=app.exception_handlers)  # added first: the innermost middleware
    ui.install(app)
    app.add_middleware(AccessLog)
    app.add_middleware(ngc_audit.ClientAddress)
    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes)
    install_openapi(app)
    app.add_middleware(ops.MetricsMiddleware)
    return app
