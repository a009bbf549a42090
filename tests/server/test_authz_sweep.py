"""The authorization sweep: every route of the app × every kind of caller × every place, against `policy.allows`.

Callers: each role (REGISTRY_WRITE_ADMIN, _TEAM_ADMIN, _USER_ROLE, REGISTRY_READ, USER_ADMIN) held on the org and on
a team, a guest, a revoked key, an expired personal key, a personal key bound to one of its user's two orgs, and a
docker token for another repository. Places: the caller's org, its team, another team, another org and that org's
team, and public content. Allowed means an answer other than 401/403; denied means 401 (guests, bad credentials) or
403. On every answer: no private name of a place the caller may not see, unless the caller typed it.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from ngc_registry.refs import is_ngc_path
from ngc_registry.server.auth.policy import Action, Scope, allows

from . import sweep_rules
from .sweep_rules import EXCHANGE, PUBLIC, SIGNED, UI_FORM, Spec
from .world import Caller, Place, World, world_settings

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
SHAPES = {"team": ["own-team", "other-team", "foreign-team"], "org": ["own-org", "other-org"],
          "any": ["own-org", "own-team", "other-team", "other-org", "foreign-team"]}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    built = World(world_settings(request, tmp_path_factory))
    yield built
    built.close()


def route_keys(app) -> dict[str, str]:
    """Every route as `METHOD /path`, with the function that serves it."""
    keys = {}
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            continue  # /static: the UI's files, public
        keys.update({f"{method} {route.path}": route.endpoint.__qualname__ for method in route.methods or ()})
    return keys


def alias_slots(world: World, routes: dict[str, Spec]) -> dict[str, tuple[int, int]]:
    """Paths that reach one function in the same kind of place (`/v2/org/{org}/models/{name}` and the guest
    `/v2/models/{org}/{name}`) share the callers between them: (position, count) of each in its group."""
    served_by = route_keys(world.app)
    groups: dict[tuple, list[str]] = {}
    for key, spec in sorted(routes.items()):
        method, template = key.split(" ", 1)
        groups.setdefault((method, served_by[key], shape_of(template, spec)), []).append(key)
    return {key: (index, len(keys)) for keys in groups.values() for index, key in enumerate(keys)}


def test_every_route_is_classified(world):
    """A new endpoint fails here until the sweep knows what the policy says about it."""
    routes = set(route_keys(world.app))
    assert sorted(routes - set(sweep_rules.ALL_ROUTES)) == [], "routes the sweep does not know"
    assert sorted(set(sweep_rules.ALL_ROUTES) - routes) == [], "sweep entries for routes that no longer exist"


# -- building requests -------------------------------------------------------------------------------------------

def shape_of(template: str, spec: Spec) -> str:
    if spec.shape:
        return spec.shape
    if "{team" in template:
        return "team"
    if "{org" in template:
        return "org"
    return "any" if "{name:path}" in template else "none"


def places_for(world: World, template: str, spec: Spec) -> list[Place | None]:
    shape = shape_of(template, spec)
    if shape == "none":
        return [None]
    found = [world.places[name] for name in SHAPES[shape]]
    return found + [world.places["public"]] if spec.reads and shape != "team" else found


def values_for(world: World, template: str, place: Place | None) -> dict:
    if place is None:
        return {"resource_type": "MODEL", "kind": "models", "name": "nothing.whl"}
    oci = "{name:path}" in template
    digest = place.layer_digest if "/blobs/{digest}" in template else place.manifest_digest
    return {"org": place.org, "org_name": place.org, "team": place.team, "team_name": place.team, "kind": "models",
            "name": place.repository if oci else place.model, "repo": place.image, "tag": "1", "version": "1",
            "reference": "1", "digest": digest, "resource_type": "MODEL"}


def build(world: World, key: str, spec: Spec, place: Place | None) -> tuple[str, str, dict]:
    method, template = key.split(" ", 1)
    values = {**values_for(world, template, place), **(spec.params(world, place) if spec.params else {})}
    url = _PARAM.sub(lambda m: quote(str(values[m.group(1)]), safe="/:@"), template)
    query = spec.query
    if template.startswith("/catalog/") and place is not None:
        query = f"resource={quote('/'.join(p for p in (place.org, place.team, place.model) if p))}&{query}"
    kwargs = {"json": spec.body(world, place)} if spec.body else {}
    if values.get("_manifest"):
        kwargs = {"content": place.manifest_body,
                  "headers": {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}}
    return method, url + (f"?{query}" if query else ""), kwargs


# -- what the policy says, and what the server did --------------------------------------------------------------

def expected(spec: Spec, caller: Caller, place: Place | None, world: World, ngc: bool) -> int | None:
    """None when the caller must be let in; else the status of the refusal."""
    if spec.rule in (PUBLIC, EXCHANGE):
        return None
    if caller.principal is None:
        return 401
    if ngc and caller.token_names is not None:
        return 403  # a docker token names repositories; the NGC API refuses it
    if spec.rule(caller, place, world):
        return None
    return 401 if caller.principal.is_guest else 403


def may_see(caller: Caller, place: Place) -> bool:
    return caller.principal is not None and allows(caller.principal, Action.VIEW, Scope(place.org_id, place.team_id))


def leaks(world: World, caller: Caller, url: str, text: str) -> list[str]:
    """Private names in an answer that the caller may not see and did not send."""
    return [name for place in world.places.values() if not place.public for name in place.private_names
            if name in text and name not in url and not may_see(caller, place)]


async def check(client, world: World, key: str, spec: Spec, caller: Caller, place: Place | None,
                problems: list[str]) -> None:
    method, url, kwargs = build(world, key, spec, place)
    headers = {**caller.headers, **kwargs.pop("headers", {})}
    response = await client.request(method, url, headers=headers, **kwargs)
    want = expected(spec, caller, place, world, is_ngc_path(url))
    where = f"{caller.label:>34} {method} {url}"
    if response.status_code >= 500:
        problems.append(f"{where} -> {response.status_code} {response.text[:200]}")
    elif want is None and response.status_code in (401, 403) and spec.rule != EXCHANGE or want is None and spec.reads and response.status_code != 200:
        problems.append(f"{where} -> {response.status_code}, but the policy allows it: {response.text[:160]}")
    elif want is not None and response.status_code != want:
        problems.append(f"{where} -> {response.status_code}, but the policy says {want}")
    if leaked := leaks(world, caller, url, response.text):
        problems.append(f"{where} -> leaks {leaked}")
    if want is not None and spec.oracle and place is not None:
        await check_no_oracle(client, url, method, caller, place, response.status_code, problems)


async def check_no_oracle(client, url, method, caller, place, status, problems) -> None:
    """A refused caller gets the same answer for something that does not exist: existence is not disclosed."""
    missing = url.replace(place.model, "no-such-model").replace(place.image, "no-such-image")
    response = await client.request(method, missing, headers=caller.headers)
    if response.status_code != status:
        problems.append(f"{caller.label:>34} {method} {missing} -> {response.status_code}, but {status} for "
                        f"the existing one: existence disclosed")


def sweep(world: World, routes: dict[str, Spec], callers: dict[str, Caller], checker=None) -> list[str]:
    return asyncio.run(_sweep(world, routes, callers, checker or check))


async def _sweep(world: World, routes: dict[str, Spec], callers: dict[str, Caller], checker) -> list[str]:
    problems: list[str] = []
    slots = alias_slots(world, routes)
    transport = httpx.ASGITransport(app=world.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for key, spec in sorted(routes.items()):
            if spec.rule in (SIGNED, UI_FORM):
                continue
            position, count = slots[key]
            places = places_for(world, key.split(" ", 1)[1], spec)
            for index, place in enumerate(places):
                for number, caller in enumerate(callers.values()):
                    if number % count == (position + index) % count and not refused_already(caller, key, index):
                        await checker(client, world, key, spec, caller, place, problems)
    return problems


def refused_already(caller: Caller, key: str, place_index: int) -> bool:
    """Bad credentials, and docker tokens on the NGC API, are refused before any place is looked at: one place
    is enough for them."""
    ngc = is_ngc_path(key.split(" ", 1)[1].replace("{name:path}", "o/i"))
    return place_index > 0 and (caller.principal is None or (ngc and caller.token_names is not None))


def report(problems: list[str]) -> str:
    return f"{len(problems)} answers differ from the policy:\n" + "\n".join(problems[:60])


@pytest.mark.parametrize("group", ["ORG_ROUTES", "IDENTITY_ROUTES", "OCI_ROUTES"])
def test_identity_org_and_oci_routes_follow_the_policy(world, group):
    problems = sweep(world, getattr(sweep_rules, group), world.callers)
    assert not problems, report(problems)


def test_model_and_image_routes_follow_the_policy(world):
    routes = {key: spec for key, spec in sweep_rules.API_ROUTES.items()
              if key not in {**sweep_rules.ORG_ROUTES, **sweep_rules.IDENTITY_ROUTES, **sweep_rules.OCI_ROUTES}}
    problems = sweep(world, routes, world.callers)
    assert not problems, report(problems)


def test_web_pages_follow_the_policy(world):
    problems = sweep(world, sweep_rules.UI_ROUTES, world.ui_callers(), check_page)
    assert not problems, report(problems)


async def check_page(client, world: World, key: str, spec: Spec, caller: Caller, place: Place | None,
                     problems: list[str]) -> None:
    method, url, _ = build(world, key, spec, place)
    response = await client.request(method, url, headers=caller.headers, follow_redirects=False)
    to_login = response.status_code == 303 and response.headers["location"].startswith("/login")
    want = expected(spec, caller, place, world, ngc=False)
    where = f"{caller.label:>34} {method} {url}"
    if response.status_code >= 500:
        problems.append(f"{where} -> {response.status_code}")
    elif want is None and (response.status_code == 403 or to_login):
        problems.append(f"{where} -> {response.status_code}, but the policy allows it")
    elif want == 401 and not to_login:
        problems.append(f"{where} -> {response.status_code}, but a guest must be sent to sign in")
    elif want == 403 and response.status_code != 403:
        problems.append(f"{where} -> {response.status_code}, but the policy says 403")
    if leaked := leaks(world, caller, url, response.text):
        problems.append(f"{where} -> leaks {leaked}")
