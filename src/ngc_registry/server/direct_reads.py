"""The hottest reads served without FastAPI's per-request machinery.

Get model, get version and get-caller-info are most of what NGC clients ask. Per request, FastAPI spent as much
CPU around the endpoint as the endpoint itself: matching the path against every route before it, solving the
dependencies, validating each parameter (a model GET: 774 us in process, 516 us served directly).

`DirectReads` is the innermost middleware, so metrics, the access log, the body limit and the security headers
still apply. It serves a request itself only when FastAPI would route it to a `reads_only` route and the request
has the plain shape: GET or POST, no query string, and for a form endpoint a urlencoded body with a
Content-Length. It calls the very endpoint wrapper FastAPI would call, with the arguments FastAPI would pass (path
parameters, the parsed form, the Request), and renders failures with the app's own exception handlers. Every
other request goes on to FastAPI unchanged.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Optional

from fastapi.params import Form
from fastapi.routing import APIRoute
from starlette.requests import Request

from .deps import is_reads_only

PLAIN_TYPES = (str, Optional[str])
FORM_TYPE = b"application/x-www-form-urlencoded"


@dataclass(frozen=True)
class _FormField:
    name: str  # the endpoint's parameter
    alias: str  # the form's field
    default: object


@dataclass(frozen=True)
class DirectRoute:
    route: APIRoute
    request_name: str
    form: tuple[_FormField, ...]

    def takes(self, scope) -> bool:
        return not self.form or _plain_form(scope)

    def params(self, found: re.Match) -> dict:
        convertors = self.route.param_convertors
        return {key: convertors[key].convert(value) for key, value in found.groupdict().items()}

    async def arguments(self, request: Request, params: dict) -> dict:
        arguments = {**params, self.request_name: request}
        if self.form:
            form = await request.form()
            for field in self.form:
                arguments[field.name] = form.get(field.alias) or field.default
        return arguments


def _ahead(routes: list, method: str) -> list[tuple[APIRoute, DirectRoute | None]]:
    """The routes FastAPI tries for a `method` request, in its order, up to the last one served directly; each with
    its DirectRoute when it is served directly."""
    ahead = []
    for route in routes:
        if not isinstance(route, APIRoute):
            ahead.append((route, None))
        elif method in route.methods:
            ahead.append((route, direct_route(route) if is_reads_only(route.endpoint) else None))
    while ahead and ahead[-1][1] is None:
        ahead.pop()
    if any(not isinstance(route, APIRoute) for route, _ in ahead):
        raise TypeError("DirectReads knows how FastAPI orders API routes only: put direct routes before others")
    return ahead


def _plain_form(scope) -> bool:
    headers = dict(scope["headers"])
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return content_type == FORM_TYPE and b"content-length" in headers and b"transfer-encoding" not in headers


def direct_route(route: APIRoute) -> DirectRoute:
    """`route` as served directly; TypeError when its endpoint takes what only FastAPI supplies."""
    dependant = route.dependant
    if not inspect.iscoroutinefunction(route.endpoint):
        raise TypeError(f"{route.path}: a reads_only endpoint is a PlainRoute's (which wraps it in a coroutine)")
    if dependant.header_params or dependant.cookie_params or dependant.dependencies or route.dependencies:
        raise TypeError(f"{route.path}: a reads_only endpoint takes only path parameters, a form and the Request")
    fields = dependant.path_params + dependant.query_params + dependant.body_params
    if any(field.field_info.annotation not in PLAIN_TYPES for field in fields):
        raise TypeError(f"{route.path}: a reads_only endpoint's parameters are strings (none is validated)")
    if any(not isinstance(field.field_info, Form) for field in dependant.body_params):
        raise TypeError(f"{route.path}: a reads_only endpoint's body is a form")
    form = tuple(_FormField(field.name, field.alias, field.field_info.default) for field in dependant.body_params)
    if route.methods != {"POST" if form else "GET"}:
        raise TypeError(f"{route.path}: a reads_only endpoint answers GET, or POST with a form")
    return DirectRoute(route, dependant.request_param_name or "request", form)


class DirectReads:
    """ASGI middleware serving the `reads_only` routes among `routes` directly (see the module's docstring).

    `routes` are the included routers' API routes in the order FastAPI tries them (the app's own routes,
    `/openapi.json` and the web UI's, match none of their paths): a request is served directly only when the first
    of them that matches it is a direct one. `handlers` are the app's exception handlers; as in Starlette, the one
    for `Exception` is left to the outermost middleware, which also logs the error."""

    def __init__(self, app, routes: list, handlers: dict):
        self.app, self.handlers = app, handlers
        self.ahead = {method: _ahead(routes, method) for method in ("GET", "POST")}

    async def __call__(self, scope, receive, send):
        ahead = self.ahead.get(scope.get("method"))
        if ahead and scope["type"] == "http" and not scope.get("query_string") and not scope.get("root_path"):
            for route, direct in ahead:
                found = route.path_regex.match(scope["path"])
                if found is not None:
                    if direct is not None and direct.takes(scope):
                        return await self._serve(direct, direct.params(found), scope, receive, send)
                    break
        await self.app(scope, receive, send)

    async def _serve(self, direct: DirectRoute, params: dict, scope, receive, send) -> None:
        scope.update(path_params=params, route=direct.route, endpoint=direct.route.endpoint)
        request = Request(scope, receive)
        try:
            response = await direct.route.endpoint(**await direct.arguments(request, params))
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception):
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in self.handlers:
                return self.handlers[cls]
        return None
