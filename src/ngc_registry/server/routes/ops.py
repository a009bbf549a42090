"""Operations endpoints: `/healthz` (the process answers), `/readyz` (database and store reachable, else 503),
`/metrics` (Prometheus; behind a bearer token when NGC_REGISTRY_METRICS_TOKEN is set), and the middleware that
measures every request."""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ...errors import UnauthorizedError
from ..services import health, metrics

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks = await run_in_threadpool(health.readiness, state.sessions, state.store)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


def _check_metrics_token(request: Request) -> None:
    expected = request.app.state.settings.metrics_token
    if not expected:
        return
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise UnauthorizedError("The metrics token is missing or wrong.")


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    _check_metrics_token(request)
    body = await run_in_threadpool(request.app.state.metrics.render)
    return Response(body, media_type=metrics.CONTENT_TYPE)


def _is_upload(scope) -> bool:
    method, path = scope["method"], scope["path"]
    return (method == "PUT" and path.startswith("/_storage/")) or (
        method in ("POST", "PATCH", "PUT") and "/blobs/uploads" in path)


class MetricsMiddleware:
    """Counts requests by method, route template and status; times them; counts body bytes each way."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        measured = scope["app"].state.metrics
        started, status, received, sent = time.perf_counter(), [0], [0], [0]

        async def counting_receive():
            message = await receive()
            received[0] += len(message.get("body", b""))
            return message

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                sent[0] += len(message.get("body", b""))
            await send(message)

        uploading = _is_upload(scope)
        if uploading:
            measured.uploads_in_flight.inc()
        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            if uploading:
                measured.uploads_in_flight.dec()
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            measured.observe(scope["method"], route, status[0] or 500, time.perf_counter() - started, received[0],
                             sent[0])
