"""Request-scoped dependencies: the database transaction and the calling principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ..errors import ForbiddenError
from .auth.credentials import authenticate
from .auth.policy import Principal
from .db.base import transaction


def _session(request: Request) -> Iterator[Session]:
    # scope="function": the commit happens before the response is sent, so a 2xx means the change is durable.
    with transaction(request.app.state.sessions) as session:
        yield session


DB = Annotated[Session, Depends(_session, scope="function")]


def _principal(request: Request, session: DB) -> Principal:
    principal, key = authenticate(session, request.headers.get("authorization"), request.app.state.token_secret)
    if principal.token_actions is not None:  # a docker token names repositories; the NGC API does not check them
        raise ForbiddenError("This token grants access to named OCI repositories only; for the NGC API, "
                             "request a token without a repository scope.")
    request.state.key = key
    return principal


Caller = Annotated[Principal, Depends(_principal)]
