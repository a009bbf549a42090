"""Request-scoped dependencies: the database transaction and the calling principal.

Every sync dependency costs a hop through the worker-thread pool (and a generator one a second hop for its exit),
so an NGC route gets its transaction and its caller from one dependency: `CallerDB` and `Caller` share it. Routes
without a caller (the web UI) use `DB`. An authenticated NGC request thus takes three hops: this dependency, the
endpoint and the commit.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import pydantic_core
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
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


def principal_of(request: Request, session: Session) -> Principal:
    principal, key = authenticate(session, request.headers.get("authorization"), request.app.state.token_secret)
    if principal.token_actions is not None:  # a docker token names repositories; the NGC API does not check them
        raise ForbiddenError("This token grants access to named OCI repositories only; for the NGC API, "
                             "request a token without a repository scope.")
    request.state.key = key
    return principal


@dataclass(frozen=True)
class Authenticated:
    session: Session
    principal: Principal


def _authenticated(request: Request) -> Iterator[Authenticated]:
    with transaction(request.app.state.sessions) as session:
        yield Authenticated(session, principal_of(request, session))


_Authenticated = Annotated[Authenticated, Depends(_authenticated, scope="function")]


async def _caller_session(authenticated: _Authenticated) -> Session:
    return authenticated.session


async def _caller(authenticated: _Authenticated) -> Principal:
    return authenticated.principal


CallerDB = Annotated[Session, Depends(_caller_session, scope="function")]
Caller = Annotated[Principal, Depends(_caller, scope="function")]


class PlainRoute(APIRoute):
    """A route whose sync endpoint's dict is rendered as JSON in the endpoint's own worker thread: FastAPI would
    validate it against `dict` in one more thread hop (or, without a response model, encode it in pure Python on
    the event loop)."""

    def __init__(self, path: str, endpoint, **kwargs) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _rendered_in_thread(endpoint, kwargs.get("status_code") or 200)
        super().__init__(path, endpoint, **kwargs)


def _rendered_in_thread(endpoint, status_code: int):
    @functools.wraps(endpoint)
    def rendered(*args, **kwargs):
        result = endpoint(*args, **kwargs)
        if not isinstance(result, dict):
            return result
        return Response(pydantic_core.to_json(result), status_code=status_code, media_type="application/json")
    return rendered
