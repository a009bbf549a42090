"""Request-scoped dependencies: the database transaction and the calling principal.

`DB` and `Caller` are FastAPI dependencies (the caller's in the request's transaction). A `PlainRoute` (the NGC
API) supplies both itself and runs the whole request in one worker-thread hop: open the transaction, authenticate,
call the endpoint, commit, render the dict as JSON; as dependencies they would cost a hop each, and the
transaction a second one for its exit.
"""

from __future__ import annotations

import functools
import inspect
import typing
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


def principal_of(request: Request, session: DB) -> Principal:
    principal, _ = authenticate(session, request.headers.get("authorization"), request.app.state.token_secret)
    if principal.token_actions is not None:  # a docker token names repositories; the NGC API does not check them
        raise ForbiddenError("This token grants access to named OCI repositories only; for the NGC API, "
                             "request a token without a repository scope.")
    return principal


Caller = Annotated[Principal, Depends(principal_of)]


class PlainRoute(APIRoute):
    """A route whose sync endpoint runs in one worker-thread hop together with its transaction, its caller and the
    rendering of its dict as JSON (FastAPI would validate the dict against `dict` in one more hop, or encode it in
    pure Python on the event loop)."""

    def __init__(self, path: str, endpoint, **kwargs) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = in_one_hop(endpoint, kwargs.get("status_code") or 200)
        super().__init__(path, endpoint, **kwargs)


@dataclass(frozen=True)
class _Injected:
    sessions: tuple[str, ...]  # parameters that receive the transaction's session
    callers: tuple[str, ...]  # parameters that receive the authenticated principal
    request: str  # the parameter FastAPI fills with the Request
    endpoint_takes_request: bool


def _injected(endpoint) -> tuple[_Injected, inspect.Signature]:
    """What the wrapper supplies itself, and the signature FastAPI sees: the endpoint's without those parameters
    (annotations resolved, so FastAPI need not find the endpoint module's names), with a Request."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    sessions = tuple(name for name in signature.parameters if hints.get(name) == DB)
    callers = tuple(name for name in signature.parameters if hints.get(name) == Caller)
    kept = [parameter.replace(annotation=hints.get(name, parameter.annotation), kind=parameter.KEYWORD_ONLY)
            for name, parameter in signature.parameters.items() if name not in sessions + callers]
    request = next((parameter.name for parameter in kept if parameter.annotation is Request), None)
    if request is None:
        kept.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request))
    injected = _Injected(sessions, callers, request or "request", request is not None)
    return injected, signature.replace(parameters=kept, return_annotation=hints.get("return", dict))


def in_one_hop(endpoint, status_code: int):
    injected, signature = _injected(endpoint)

    @functools.wraps(endpoint)
    def handled(**kwargs):
        request = kwargs[injected.request] if injected.endpoint_takes_request else kwargs.pop(injected.request)
        if not injected.sessions and not injected.callers:
            return _rendered(endpoint(**kwargs), status_code)
        with transaction(request.app.state.sessions) as session:
            kwargs.update(dict.fromkeys(injected.sessions, session))
            if injected.callers:
                kwargs.update(dict.fromkeys(injected.callers, principal_of(request, session)))
            result = endpoint(**kwargs)
        return _rendered(result, status_code)  # committed first: a 2xx means the change is durable

    handled.__signature__ = signature
    return handled


def _rendered(result, status_code: int):
    if not isinstance(result, dict):
        return result
    return Response(pydantic_core.to_json(result), status_code=status_code, media_type="application/json")
