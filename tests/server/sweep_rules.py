"""The authorization sweep's table: every route of the app, what the policy says about it, and how to call it.

A rule answers "may this caller do this here?" from `policy.allows` (and the docker token's names, on the OCI API);
the sweep compares that answer with what the server does. Victims are fresh objects for requests that change or
delete something, so that one caller's success does not change what the next one sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ngc_registry.server.auth.policy import Action, Role, Scope, actions_to_grant, allows

from .world import Caller, Place, World

Rule = Callable[[Caller, "Place | None", World], bool]


@dataclass(frozen=True)
class Spec:
    rule: Rule | str  # or PUBLIC (no authentication at all), SIGNED (the URL is the credential), UI_FORM
    params: Callable[[World, Place], dict] | None = None  # path and query values beyond the place's own
    body: Callable[[World, Place], dict] | None = None
    query: str = ""
    reads: bool = False  # also asked of the public place
    shape: str | None = None  # which places: "org", "team", "any", "none"; None: from the path's parameters
    oracle: bool = False  # refused callers get the same answer for a name that does not exist


PUBLIC, SIGNED, UI_FORM = "public", "signed", "ui-form"
EXCHANGE = "exchange"  # the credential is in the request itself (/token, caller info): tests/server/test_identity.py


def _scope(place: Place, org_only: bool = False, public: bool = False) -> Scope:
    return Scope(org_id=place.org_id, team_id=None if org_only else place.team_id, public=public)


def on_place(*actions: Action, org_only: bool = False) -> Rule:
    """The actions on the place itself: its org (and team), as routes that create or list there check them."""
    return lambda c, p, w: all(allows(c.principal, a, _scope(p, org_only)) for a in actions)


def on_artifact(*actions: Action) -> Rule:
    """`find()`: VIEW, then the action, on an artifact of the place (created by its org's admin)."""
    def rule(caller: Caller, place: Place, world: World) -> bool:
        scope = Scope(place.org_id, place.team_id, creator_id=world.creator_of(place), public=place.public)
        return all(allows(caller.principal, action, scope) for action in (Action.VIEW, *actions))
    return rule


def on_image(action: Action) -> Rule:
    """`images.authorize`: the policy on the repository's space, and the docker token must name the repository."""
    def rule(caller: Caller, place: Place, world: World) -> bool:
        named = caller.token_names is None or place.repository in caller.token_names
        return allows(caller.principal, action, _scope(place, public=place.public)) and named
    return rule


def any_of(*rules: Rule) -> Rule:
    return lambda c, p, w: any(rule(c, p, w) for rule in rules)


def granting(role: Role, to_team: bool, new_to_org: bool) -> Rule:
    """What a caller needs to give (or take) a role: `policy.actions_to_grant`, as `ngc_members` asks it."""
    def rule(caller: Caller, place: Place, world: World) -> bool:
        needed = actions_to_grant(role, to_team, new_to_org)
        return all(allows(caller.principal, action, Scope(place.org_id, place.team_id if to_team and action is
                                                           Action.ADD_USER_TO_TEAM else None)) for action in needed)
    return rule


def authenticated(caller: Caller, place, world) -> bool:
    return not caller.principal.is_guest


def anyone(caller: Caller, place, world) -> bool:
    return True


def _version_delete(caller: Caller, place: Place, world: World) -> bool:
    scope = Scope(place.org_id, place.team_id, creator_id=world.creator_of(place))
    return allows(caller.principal, Action.VIEW, scope) and allows(caller.principal, Action.DELETE_MODEL, scope)


def _multipart(world: World, place: Place) -> dict:
    return {"name": place.model, "version": "pending", "artifactType": "models",
            "filePath": world.unique("upload-") + ".bin", "size": 1}


_new_email = lambda w, p: {"email": f"{w.unique('new-')}@example.com", "roleTypes": ["REGISTRY_WRITE_USER_ROLE"]}
_member = lambda w, p: {"ident": w.victim_member(p)}
_UPLOAD = {"upload_id": "0" * 32}

ORG_ROUTES = {
    "GET /v2/orgs": Spec(authenticated),
    "GET /v2/orgs/{org_name}": Spec(on_place(Action.VIEW_ORG, org_only=True)),
    "GET /v2/org/{org_name}/teams": Spec(on_place(Action.VIEW_ORG, org_only=True)),
    "POST /v2/org/{org_name}/teams": Spec(on_place(Action.ADD_TEAM, org_only=True),
                                          body=lambda w, p: {"name": w.unique("team-")}),
    "GET /v2/org/{org_name}/teams/{team_name}": Spec(any_of(on_place(Action.VIEW), on_place(Action.ADD_USER_TO_TEAM))),
    "GET /v2/org/{org_name}/users": Spec(on_place(Action.LIST_USERS)),
    "GET /v2/org/{org_name}/team/{team_name}/users": Spec(on_place(Action.LIST_USERS)),
    "GET /v2/org/{org_name}/users/{ident}": Spec(on_place(Action.LIST_USERS), params=_member),
    "GET /v3/orgs/{org_name}/teams/{team_name}/users/{ident}": Spec(on_place(Action.LIST_USERS), params=_member),
    "GET /v2/org/{org_name}/team/{team_name}/users/{ident}": Spec(on_place(Action.LIST_USERS), params=_member),
    "POST /v2/org/{org_name}/users": Spec(granting(Role.WRITE_USER, False, True), body=_new_email),
    "POST /v2/org/{org_name}/team/{team_name}/users": Spec(granting(Role.WRITE_USER, True, True), body=_new_email),
    "PATCH /v3/orgs/{org_name}/teams/{team_name}/users/{ident}/add-role": Spec(
        granting(Role.WRITE_USER, True, False), params=_member, query="roles=REGISTRY_WRITE_USER_ROLE"),
    "DELETE /v3/orgs/{org_name}/teams/{team_name}/users/{ident}/remove-role": Spec(
        granting(Role.READ, True, False), params=_member, query="roles=REGISTRY_READ"),
    "PATCH /v3/orgs/{org_name}/users/{ident}/add-role": Spec(
        granting(Role.WRITE_USER, False, False), params=_member, query="roles=REGISTRY_WRITE_USER_ROLE"),
    "DELETE /v3/orgs/{org_name}/users/{ident}/remove-role": Spec(
        granting(Role.READ, False, False), params=_member, query="roles=REGISTRY_READ"),
    "DELETE /v2/org/{org_name}/users/{ident}": Spec(granting(Role.READ, False, True), params=_member),
    "DELETE /v2/org/{org_name}/team/{team_name}/users/{ident}": Spec(granting(Role.READ, True, False),
                                                                     params=_member),
    "GET /v2/org/{org_name}/audit": Spec(on_place(Action.VIEW_AUDIT, org_only=True)),
}

IDENTITY_ROUTES = {
    "GET /token": Spec(EXCHANGE), "POST /v3/keys/get-caller-info": Spec(EXCHANGE), "GET /roles": Spec(PUBLIC),
    "GET /v2/products": Spec(PUBLIC), "GET /health": Spec(PUBLIC), "GET /healthz": Spec(PUBLIC),
    "GET /readyz": Spec(PUBLIC), "GET /metrics": Spec(PUBLIC), "GET /openapi.json": Spec(PUBLIC),
    "HEAD /openapi.json": Spec(PUBLIC), "GET /v2/search/labelsets": Spec(PUBLIC),
    "GET /v2/search/subscriber/catalog/resources/{resource_type}": Spec(PUBLIC),
    "GET /v2/users/me": Spec(authenticated),
    "GET /v3/keys": Spec(authenticated),
    "DELETE /v3/keys/{key_id}": Spec(authenticated, params=lambda w, p: {"key_id": "999999"}),
    "POST /v3/keys": Spec(lambda c, p, w: allows(c.principal, Action.VIEW_ORG, Scope(w.places["own-org"].org_id)),
                          body=lambda w, p: {"name": "k", "org": "acme", "expiryDays": 1}),
    "GET /v2/search/catalog/resources/{resource_type}": Spec(anyone),
    "GET /v2/search/org/{org_name}/resources/{resource_type}": Spec(anyone, reads=True),
    "GET /v2/search/org/{org_name}/team/{team_name}/resources/{resource_type}": Spec(anyone),
    "GET /_storage/{token}": Spec(SIGNED), "PUT /_storage/{token}": Spec(SIGNED),
}

_KIND = "{kind:kind}"
_ARTIFACT_PREFIXES = ["/v2/org/{org}", "/v2/org/{org}/team/{team}"]
_GUEST_PREFIXES = ["/v2/{kind:kind}/{org}", "/v2/{kind:kind}/{org}/{team}"]


def _artifact_routes() -> dict[str, Spec]:
    found = {}
    for prefix in _ARTIFACT_PREFIXES:
        base = f"{prefix}/{_KIND}/{{name}}"
        found.update({
            f"POST {prefix}/{_KIND}": Spec(on_place(Action.CREATE), body=lambda w, p: {"name": w.unique("made-")}),
            f"PATCH {base}": Spec(on_artifact(Action.CREATE), body=lambda w, p: {"description": "changed"}),
            f"DELETE {base}": Spec(on_artifact(Action.DELETE_MODEL),
                                   params=lambda w, p: {"name": w.victim_artifact(p)}),
            f"POST {base}/versions": Spec(on_artifact(Action.CREATE),
                                          body=lambda w, p: {"versionId": w.unique("v")}),
            f"PATCH {base}/versions/{{version}}": Spec(on_artifact(Action.CREATE),
                                                       body=lambda w, p: {"description": "changed"}),
            f"DELETE {base}/versions/{{version}}": Spec(_version_delete,
                                                        params=lambda w, p: {"version": w.victim_version(p)}),
            f"GET {base}/{{version}}/files": Spec(on_artifact(Action.DOWNLOAD), reads=True),
            f"POST {base}/files": Spec(on_artifact(Action.CREATE), body=lambda w, p: {"files": []}),
            f"POST {prefix}/files/multipart": Spec(on_artifact(Action.CREATE), body=_multipart),
            f"PUT {prefix}/files/multipart": Spec(on_artifact(Action.CREATE),
                                                  body=lambda w, p: {**_multipart(w, p), "uploadID": "0" * 32}),
            f"POST {prefix}/files/commit": Spec(on_artifact(Action.CREATE), body=lambda w, p: {
                "name": p.model, "version": "pending", "artifactType": "models", "files": []}),
        })
    for prefix in _ARTIFACT_PREFIXES + _GUEST_PREFIXES:
        where = prefix if prefix in _GUEST_PREFIXES else f"{prefix}/{_KIND}"
        for suffix in ("", "/versions", "/versions/{version}", "/versions/{version}/files"):
            found[f"GET {where}/{{name}}{suffix}"] = Spec(on_artifact(), reads=True, oracle=suffix == "")
    for prefix in ("/v2/{kind:kind}/org/{org}", "/v2/{kind:kind}/org/{org}/team/{team}"):
        found[f"GET {prefix}/{{name}}/{{version}}/files"] = Spec(on_artifact(Action.DOWNLOAD), reads=True)
    return found


def _image_routes() -> dict[str, Spec]:
    found = {}
    for prefix in ("/v2/org/{org}/repos/{repo}", "/v2/org/{org}/team/{team}/repos/{repo}"):
        found.update({
            f"GET {prefix}": Spec(on_image(Action.VIEW), reads=True, oracle=True),
            f"GET {prefix}/images": Spec(on_image(Action.VIEW), reads=True),
            f"GET {prefix}/images/{{tag}}": Spec(on_image(Action.VIEW), reads=True),
            f"GET {prefix}/tags/{{tag}}": Spec(on_image(Action.VIEW), reads=True),
            f"PATCH {prefix}": Spec(on_image(Action.CREATE), body=lambda w, p: {"description": "changed"}),
            f"DELETE {prefix}": Spec(on_image(Action.DELETE_IMAGE), params=lambda w, p: {"repo": w.victim_repository(p)}),
            f"DELETE {prefix}/images/{{tag}}": Spec(on_image(Action.DELETE_IMAGE),
                                                   params=lambda w, p: {"tag": w.victim_tag(p)}),
        })
    return found


_NAME = "/v2/{name:path}"
OCI_ROUTES = {
    "GET /v2/": Spec(authenticated),
    "GET /v2/_catalog": Spec(anyone),
    f"GET {_NAME}/tags/list": Spec(on_image(Action.VIEW), reads=True, oracle=True),
    f"GET {_NAME}/referrers/{{digest}}": Spec(on_image(Action.DOWNLOAD), reads=True),
    f"GET {_NAME}/manifests/{{reference}}": Spec(on_image(Action.DOWNLOAD), reads=True, oracle=True),
    f"HEAD {_NAME}/manifests/{{reference}}": Spec(on_image(Action.DOWNLOAD), reads=True),
    f"PUT {_NAME}/manifests/{{reference}}": Spec(on_image(Action.CREATE), params=lambda w, p: {
        "reference": w.unique("pushed-"), "_manifest": True}),
    f"DELETE {_NAME}/manifests/{{reference}}": Spec(on_image(Action.DELETE_IMAGE),
                                                    params=lambda w, p: {"reference": w.victim_tag(p)}),
    f"POST {_NAME}/blobs/uploads": Spec(on_image(Action.CREATE)),
    f"POST {_NAME}/blobs/uploads/": Spec(on_image(Action.CREATE)),
    f"GET {_NAME}/blobs/uploads/{{upload_id}}": Spec(on_image(Action.CREATE), params=lambda w, p: _UPLOAD),
    f"PATCH {_NAME}/blobs/uploads/{{upload_id}}": Spec(on_image(Action.CREATE), params=lambda w, p: _UPLOAD),
    f"PUT {_NAME}/blobs/uploads/{{upload_id}}": Spec(on_image(Action.CREATE), params=lambda w, p: _UPLOAD,
                                                     query="digest=sha256:" + "0" * 64),
    f"DELETE {_NAME}/blobs/uploads/{{upload_id}}": Spec(on_image(Action.CREATE), params=lambda w, p: _UPLOAD),
    f"GET {_NAME}/blobs/{{digest}}": Spec(on_image(Action.DOWNLOAD), reads=True),
    f"HEAD {_NAME}/blobs/{{digest}}": Spec(on_image(Action.DOWNLOAD), reads=True),
    f"DELETE {_NAME}/blobs/{{digest}}": Spec(on_image(Action.DELETE_IMAGE),
                                             params=lambda w, p: {"digest": w.victim_blob(p)}),
}

# The web UI: pages checked with a signed-in browser session; forms post to the same functions as the NGC API
# (`ngc_members`, `orgs`, `keys`) behind a CSRF token, and are covered by tests/server/test_ui_*.py.
UI_ROUTES = {
    "GET /login": Spec(PUBLIC), "GET /activate": Spec(PUBLIC), "GET /": Spec(PUBLIC), "GET /catalog": Spec(PUBLIC),
    "GET /setup/cli": Spec(PUBLIC), "GET /setup/cli/files/{name}": Spec(PUBLIC),
    "GET /setup": Spec(authenticated), "GET /setup/api-key": Spec(authenticated),
    "GET /setup/keys": Spec(authenticated),
    "GET /catalog/{kind:kind}/{org}/{name}": Spec(on_artifact(), reads=True),
    "GET /catalog/{kind:kind}/{org}/{team}/{name}": Spec(on_artifact()),
    "GET /catalog/{kind:kind}/download": Spec(on_artifact(Action.DOWNLOAD), shape="any", reads=True,
                                              query="version=1&path=weights.bin"),
    "GET /admin": Spec(lambda c, p, w: any(allows(c.principal, Action.LIST_USERS, Scope(g.org_id, g.team_id))
                                           for g in c.principal.grants)),
    "GET /admin/{org_name}/users": Spec(on_place(Action.LIST_USERS)),
    "GET /admin/{org_name}/audit": Spec(on_place(Action.VIEW_AUDIT)),
    "GET /admin/{org_name}/teams": Spec(on_place(Action.VIEW_ORG)),
    "GET /admin/{org_name}/teams/{team_name}": Spec(on_place(Action.LIST_USERS)),
    **{f"POST {path}": Spec(UI_FORM) for path in (
        "/login", "/logout", "/activate", "/setup/api-key", "/setup/keys", "/setup/keys/{key_id}/revoke",
        "/admin/{org_name}/users", "/admin/{org_name}/users/{user_id}/roles",
        "/admin/{org_name}/users/{user_id}/roles/remove", "/admin/{org_name}/users/{user_id}/remove",
        "/admin/{org_name}/users/{user_id}/activation", "/admin/{org_name}/teams",
        "/admin/{org_name}/teams/{team_name}/users")},
}

API_ROUTES = {**ORG_ROUTES, **IDENTITY_ROUTES, **_artifact_routes(), **_image_routes(), **OCI_ROUTES}
ALL_ROUTES = {**API_ROUTES, **UI_ROUTES}
