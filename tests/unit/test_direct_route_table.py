"""`DirectReads` serves a `reads_only` endpoint only when it can pass every argument exactly as FastAPI would;
any other such endpoint is refused when the app is built, not answered differently at run time."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Form, Header, Request

from ngc_registry.server.deps import DB, PlainRoute, reads_only
from ngc_registry.server.direct_reads import direct_route


def _route(endpoint, method: str = "GET"):
    router = APIRouter(route_class=PlainRoute)
    router.add_api_route("/things/{name}", endpoint, methods=[method])
    return router.routes[0]


def test_path_parameters_and_a_form_are_served_directly():
    @reads_only
    def lookup(name: str, request: Request, session: DB, secret: str = Form(default="", alias="key")) -> dict:
        return {}

    direct = direct_route(_route(lookup, "POST"))
    assert direct.request_name == "request"
    assert [(field.name, field.alias, field.default) for field in direct.form] == [("secret", "key", "")]


def _typed(name: int, session: DB) -> dict:
    return {}


def _header(name: str, session: DB, agent: str = Header("")) -> dict:
    return {}


def _deleting(name: str, session: DB) -> dict:
    return {}


@pytest.mark.parametrize(("endpoint", "method", "reason"), [
    (_typed, "GET", "are strings"), (_header, "GET", "only path parameters"), (_deleting, "DELETE", "answers GET")])
def test_what_only_fastapi_supplies_is_refused(endpoint, method, reason):
    with pytest.raises(TypeError, match=reason):
        direct_route(_route(reads_only(endpoint), method))
