"""Failures of the machine rather than of the request, answered clearly instead of as a bare 500:

- a full disk (ENOSPC, EDQUOT) while bytes are written: 507, and nothing half-written is kept (writers discard
  their temporary file on any exception);
- two requests racing to create the same row (a unique constraint): 409, the loser may retry and find it;
- the database unreachable or locked past its busy timeout (PostgreSQL restarting, SQLite under heavy writing):
  503 with `Retry-After`, the transaction rolled back;
- a value the database cannot hold or compare (PostgreSQL refuses NUL in text; numbers out of range): 400;
- a client gone mid-request: a line in the log, not a traceback.
"""

from __future__ import annotations

import errno
import logging

from fastapi import FastAPI, Request
from sqlalchemy.exc import DataError
from sqlalchemy.exc import IntegrityError as RowConflict
from sqlalchemy.exc import OperationalError
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ..errors import AlreadyExistsError, BadRequestError, InsufficientStorageError, UnavailableError

log = logging.getLogger("ngc_registry.server")
FULL_DISK = frozenset({errno.ENOSPC, errno.EDQUOT})


def install_failure_handlers(app: FastAPI, render) -> None:
    """`render(request, error)` is the envelope renderer (NGC or OCI by path)."""

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError):
        if exc.errno not in FULL_DISK:
            raise exc
        log.error("storage full during %s %s: %s", request.method, request.url.path, exc.strerror)
        return render(request, InsufficientStorageError(
            "The registry's storage is full: nothing was stored. Try again once space is freed."))

    @app.exception_handler(RowConflict)
    async def _row_conflict(request: Request, exc: RowConflict):
        log.warning("concurrent change on %s %s: %s", request.method, request.url.path, str(exc.orig)[:200])
        return render(request, AlreadyExistsError("Already exists: a concurrent request made it first."))

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError):
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, str(exc.orig)[:200])
        response = render(request, UnavailableError("The database is unavailable for a moment; try again."))
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(DataError)
    async def _unstorable_value(request: Request, exc: DataError):
        log.warning("unstorable value on %s %s: %s", request.method, request.url.path, str(exc.orig)[:200])
        return render(request, BadRequestError("A value in the request is not valid here (a NUL character, or a "
                                               "number out of range)."))

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return render(request, BadRequestError("The client disconnected before sending the whole request."))
