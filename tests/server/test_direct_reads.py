"""The hottest reads are served by `DirectReads` without FastAPI's routing and parameter machinery, and answer
exactly what FastAPI answers for them: the same status, body, headers and metrics label, errors included.
A query string sends a request to FastAPI, which ignores an unknown parameter: the pairs below compare the two."""

from __future__ import annotations

import pytest

from ngc_registry.server.direct_reads import DirectReads

from .conftest import ORG
from .test_models import Flow

COMPARED_HEADERS = ("content-type", "www-authenticate", "retry-after")


@pytest.fixture
def passed_on(registry) -> list[str]:
    """The paths DirectReads hands on to FastAPI."""
    registry.client.get("/healthz")  # builds the middleware stack
    layer = registry.client.app.middleware_stack
    while not isinstance(layer, DirectReads):
        layer = layer.app
    inner, calls = layer.app, []

    async def counting(scope, receive, send):
        calls.append(scope["path"])
        await inner(scope, receive, send)

    layer.app = counting
    return calls


@pytest.fixture
def world(registry) -> dict:
    team = registry.add_team("vision")
    Flow(registry, registry.admin_key).create("open", isPublic=True)
    Flow(registry, registry.admin_key).upload("open", "1.0", {"a.bin": b"a"})
    Flow(registry, registry.admin_key).create("team")  # a model named like a path segment
    Flow(registry, registry.admin_key, space=f"org/{ORG}/team/{team['name']}").create("seg")
    outsider = registry.add_user("out@example.com", ["REGISTRY_READ"], team="vision")
    return {"admin": registry.headers(registry.admin_key), "outsider": registry.headers(outsider),
            "key": registry.admin_key, "garbage": {"Authorization": "Bearer not-a-token"}, "guest": {}}


GETS = [
    ("admin", f"/v2/org/{ORG}/models/open"),
    ("admin", f"/v2/org/{ORG}/models/open/versions/1.0"),
    ("admin", f"/v2/org/{ORG}/models/team"),
    ("admin", f"/v2/org/{ORG}/team/vision/models/seg"),
    ("admin", f"/v2/org/{ORG}/team/vision/models/seg/versions/9"),
    ("admin", f"/v2/models/{ORG}/open"),
    ("admin", f"/v2/models/{ORG}/open/versions/1.0"),
    ("admin", f"/v2/models/{ORG}/vision/seg/versions/1"),
    ("admin", f"/v2/org/{ORG}/models/missing"),
    ("admin", f"/v2/org/{ORG}/resources/open"),
    ("admin", "/v2/org/nowhere/models/open"),
    ("guest", f"/v2/org/{ORG}/models/open"),
    ("guest", f"/v2/org/{ORG}/models/team"),
    ("outsider", f"/v2/org/{ORG}/models/team"),
    ("outsider", f"/v2/org/{ORG}/team/vision/models/seg"),
    ("garbage", f"/v2/org/{ORG}/models/open"),
]


def _same(direct, framework) -> None:
    assert direct.status_code == framework.status_code, (direct.text, framework.text)
    for name in COMPARED_HEADERS:
        assert direct.headers.get(name) == framework.headers.get(name), name
    assert _without_request_id(direct.json()) == _without_request_id(framework.json())


def _without_request_id(body: dict) -> dict:
    status = {key: value for key, value in body.get("requestStatus", {}).items() if key != "requestId"}
    return {**body, "requestStatus": status}


@pytest.mark.parametrize(("who", "path"), GETS)
def test_direct_gets_answer_what_fastapi_answers(registry, world, passed_on, who, path):
    direct = registry.client.get(path, headers=world[who])
    assert passed_on == []
    framework = registry.client.get(path + "?via=fastapi", headers=world[who])
    assert passed_on == [path]
    _same(direct, framework)


@pytest.mark.parametrize("form", ["key", "wrong", "empty", "absent"])
def test_direct_caller_info_answers_what_fastapi_answers(registry, world, passed_on, form):
    data = {"key": {"credentials": world["key"]}, "wrong": {"credentials": "ngcr_wrong"},
            "empty": {"credentials": ""}, "absent": {"other": "x"}}[form]
    direct = registry.client.post("/v3/keys/get-caller-info", data=data)
    assert passed_on == []
    framework = registry.client.post("/v3/keys/get-caller-info?via=fastapi", data=data)
    assert passed_on == ["/v3/keys/get-caller-info"]
    _same(direct, framework)


def test_other_shapes_of_the_same_requests_go_to_fastapi(registry, world, passed_on):
    path = f"/v2/org/{ORG}/models/open"
    registry.client.head(path, headers=world["admin"])  # whatever FastAPI answers (405 today)
    multipart = registry.client.post("/v3/keys/get-caller-info", files={"credentials": (None, world["key"])})
    assert multipart.status_code == 200 and multipart.json()["user"]["email"] == "admin@example.com"
    assert registry.client.get("/v2/users/me", headers=world["admin"]).status_code == 200
    assert passed_on == [path, "/v3/keys/get-caller-info", "/v2/users/me"]


def test_direct_requests_are_counted_under_their_route(registry, world, passed_on):
    assert registry.client.get(f"/v2/org/{ORG}/models/open/versions/1.0", headers=world["admin"]).status_code == 200
    text = registry.client.app.state.metrics.render().decode()
    assert ('method="GET",route="/v2/org/{org}/{kind:kind}/{name}/versions/{version}",status="200"' in text)
    assert passed_on == []


def test_a_route_fastapi_tries_first_keeps_its_requests(registry, world, passed_on):
    """`/v2/models/{org}/{name}/versions` lists versions; read as `/v2/models/{org}/{team}/{name}` it would be a
    direct get of a model named `versions` in a team named `open`."""
    path = f"/v2/models/{ORG}/open/versions"
    listed = registry.client.get(path, headers=world["admin"])
    assert listed.status_code == 200 and passed_on == [path]
