"""Request-scoped dependencies: the database transaction and the calling principal.

`DB` and `Caller` are FastAPI dependencies (the caller's in the request's transaction). A `PlainRoute` (the NGC
API) supplies both itself and runs the whole request in one worker-thread hop: open the transaction, authenticate,
call the endpoint, commit, render the dict as JSON; as dependencies they would cost a hop each, and the
transaction a second one for its exit. A `reads_only` endpoint on SQLite takes no hop: it runs on the event loop.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated

import pydantic_core
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

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


def reads_only(endpoint):
    """Marks a `PlainRoute` endpoint that reads only (its caller's authentication included), or writes through
    `write_after_reads`. On SQLite it runs on the event loop with a session that refuses writes: a thread hop costs
    more CPU than such a read (~250 us against ~150 us here), and a read there neither waits for a lock nor lets go
    of the GIL for long."""
    endpoint.reads_only = True
    return endpoint


def is_reads_only(endpoint) -> bool:
    return getattr(endpoint, "reads_only", False)


_after_reads: ContextVar[list | None] = ContextVar("after_reads", default=None)


def write_after_reads(write) -> None:
    """Runs `write()` (which opens its own transaction): at once in a worker thread's request; in a `reads_only`
    request on the event loop, in a worker thread once the endpoint is done, before the response is sent."""
    queued = _after_reads.get()
    if queued is None:
        write()
    else:
        queued.append(write)


def in_one_hop(endpoint, status_code: int):
    """The endpoint as FastAPI calls it: with its session and caller supplied, in one worker-thread hop (none for
    a `reads_only` one on SQLite)."""
    injected, signature = _injected(endpoint)
    handled = functools.partial(_handled, endpoint, injected, status_code)
    runs = _on_the_loop_or_a_thread if is_reads_only(endpoint) else _in_a_thread
    wrapper = functools.update_wrapper(runs(handled, injected.request), endpoint)
    wrapper.__signature__ = signature
    return wrapper


def _in_a_thread(handled, request_name: str):
    def hop(**kwargs):
        return handled(kwargs[request_name].app.state.sessions, kwargs)

    return hop


def _on_the_loop_or_a_thread(handled, request_name: str):
    async def read(**kwargs):
        state = kwargs[request_name].app.state
        if state.read_sessions is None:
            return await run_in_threadpool(handled, state.sessions, kwargs)
        queued = []
        token = _after_reads.set(queued)
        try:
            return handled(state.read_sessions, kwargs)
        finally:
            _after_reads.reset(token)
            for write in queued:
                await run_in_threadpool(write)

    return read


def _handled(endpoint, injected: _Injected, status_code: int, sessions, kwargs: dict):
    request = kwargs[injected.request] if injected.endpoint_takes_request else kwargs.pop(injected.request)
    if not injected.sessions and not injected.callers:
        return _rendered(endpoint(**kwargs), status_code)
    with transaction(sessions) as session:
        kwargs.update(dict.fromkeys(injected.sessions, session))
        if injected.callers:
            kwargs.update(dict.fromkeys(injected.callers, principal_of(request, session)))
        result = endpoint(**kwargs)
    return _rendered(result, status_code)  # committed first: a 2xx means the change is durable


def _rendered(result, status_code: int):
    if not isinstance(result, dict):
        return result
    return Response(pydantic_core.to_json(result), status_code=status_code, media_type="application/json")
