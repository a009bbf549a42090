"""Errors rendered in one place: the NGC envelope on NGC paths, the OCI envelope on OCI paths."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ERRORS, BadRequestError, InternalError, RegistryError
from ..refs import is_ngc_path

log = logging.getLogger("ngc_registry.server")

_STATUS_CODES = {404: "NOT_FOUND", 405: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
                 413: "PAYLOAD_TOO_LARGE"}


def ngc_status(code: str = "SUCCESS", description: str | None = None) -> dict:
    status = {"statusCode": code, "requestId": uuid.uuid4().hex}
    if description is not None:
        status["statusDescription"] = description
    return status


def bearer_challenge(request: Request) -> str:
    """Where docker-style clients get a token: this server's own /token."""
    base = str(request.base_url).rstrip("/")
    return f'Bearer realm="{base}/token",service="{request.url.netloc}"'


def render_error(request: Request, error: RegistryError) -> JSONResponse:
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = bearer_challenge(request)
    if error.status == 429 and isinstance(error.detail, dict) and "retryAfter" in error.detail:
        headers["Retry-After"] = str(error.detail["retryAfter"])
    if is_ngc_path(request.url.path):
        body = {"requestStatus": ngc_status(error.code, error.message)}
    else:
        body = {"errors": [{"code": error.oci_code, "message": error.message, "detail": error.detail}]}
    return JSONResponse(body, status_code=error.status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"Invalid request: {where + ': ' if where else ''}{first.get('msg', 'malformed input')}."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(request: Request, exc: RegistryError):
        return render_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return render_error(request, BadRequestError(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        cls = ERRORS.get(_STATUS_CODES.get(exc.status_code, ""), InternalError)
        message = "Not found." if exc.status_code == 404 else str(exc.detail)
        if exc.status_code == 413:  # the route's body limit (FastAPI's max_body_size)
            message = f"Request body too large: at most {request.scope.get('starlette.max_body_size')} bytes."
        return render_error(request, cls(message, status=exc.status_code))

    from .failures import install_failure_handlers

    install_failure_handlers(app, render_error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render_error(request, InternalError())
