"""Docker-style auth on the OCI API: /token scopes, token-narrowed actions, roles, anonymous pull of public images."""

from __future__ import annotations

import jwt
import pytest

from .conftest import ORG
from .oci_support import Oci, basic, error_code, repo

APP = repo("app")
CHALLENGE = 'Bearer realm="http://testserver/token",service="testserver"'


def token(registry, key: str | None, *scopes: str) -> str:
    query = "&".join(["service=testserver", *(f"scope={s}" for s in scopes)])
    response = registry.client.get(f"/token?{query}", headers=basic(key) if key else {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0
    return body["token"]


def access(signed: str) -> list[dict]:
    return jwt.decode(signed, options={"verify_signature": False})["access"]


def bearer(registry, signed: str) -> Oci:
    return Oci(registry, None, headers={"Authorization": f"Bearer {signed}"})


@pytest.fixture
def pushed(registry) -> tuple[str, bytes]:
    return Oci(registry, registry.admin_key).push_image(APP, "v1")


def test_token_grants_only_what_the_role_allows(registry, pushed):
    reader = registry.add_user("reader@example.com", ["REGISTRY_READ"])
    asked = f"repository:{APP}:pull,push,delete"
    assert access(token(registry, registry.admin_key, asked)) == [
        {"type": "repository", "name": APP, "actions": ["delete", "pull", "push"]}]
    assert access(token(registry, reader, asked))[0]["actions"] == ["pull"]
    assert access(token(registry, registry.admin_key, f"repository:{APP}:*"))[0]["actions"] == [
        "delete", "pull", "push"]
    assert access(token(registry, reader, "repository:other-org/app:pull"))[0]["actions"] == []
    assert access(token(registry, reader, "registry:catalog:*")) == [
        {"type": "registry", "name": "catalog", "actions": ["*"]}]
    ngc_token = jwt.decode(token(registry, reader, f"group/ngc:{ORG}"), options={"verify_signature": False})
    assert "access" not in ngc_token


def test_a_token_limits_a_caller_to_its_actions(registry, pushed):
    pull_only = bearer(registry, token(registry, registry.admin_key, f"repository:{APP}:pull"))
    assert pull_only.call("GET", f"/v2/{APP}/manifests/v1").status_code == 200
    denied = pull_only.call("POST", f"/v2/{APP}/blobs/uploads/")
    assert denied.status_code == 403 and error_code(denied) == "DENIED"
    assert pull_only.call("GET", f"/v2/{repo('elsewhere')}/tags/list").status_code == 403
    assert pull_only.call("GET", "/v2/_catalog").json()["repositories"] == [APP]
    push = bearer(registry, token(registry, registry.admin_key, f"repository:{APP}:pull,push"))
    assert push.call("POST", f"/v2/{APP}/blobs/uploads/").status_code == 202
    assert push.call("DELETE", f"/v2/{APP}/manifests/v1").status_code == 403
    unscoped = bearer(registry, token(registry, registry.admin_key))
    assert unscoped.call("DELETE", f"/v2/{APP}/manifests/v1").status_code == 202


def test_basic_credentials_on_v2_requests(registry, pushed):
    assert Oci(registry, registry.admin_key).call("GET", f"/v2/{APP}/tags/list").status_code == 200
    by_email = Oci(registry, None, headers=basic(registry.admin_key, "admin@example.com"))
    assert by_email.call("GET", f"/v2/{APP}/tags/list").status_code == 200
    wrong = Oci(registry, "ngcr_not-a-key")
    response = wrong.call("GET", f"/v2/{APP}/tags/list")
    assert response.status_code == 401 and response.headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize("role,pull,push,delete", [
    ("REGISTRY_WRITE_ADMIN", 200, 202, 202),
    ("REGISTRY_WRITE_USER_ROLE", 200, 202, 202),
    ("REGISTRY_READ", 200, 403, 403),
    ("USER_ADMIN", 403, 403, 403),
])
def test_roles_decide_pull_push_and_delete(registry, pushed, role, pull, push, delete):
    caller = Oci(registry, registry.add_user("someone@example.com", [role]))
    assert caller.call("GET", f"/v2/{APP}/manifests/v1").status_code == pull
    assert caller.call("POST", f"/v2/{APP}/blobs/uploads/").status_code == push
    assert caller.call("DELETE", f"/v2/{APP}/manifests/v1").status_code == delete


def test_team_roles_cover_their_team_only(registry):
    registry.add_team("team-a")
    registry.add_team("team-b")
    member = Oci(registry, registry.add_user("member@example.com", ["REGISTRY_WRITE_USER_ROLE"], team="team-a"))
    assert member.call("POST", f"/v2/{ORG}/team-a/app/blobs/uploads/").status_code == 202
    assert member.call("POST", f"/v2/{ORG}/team-b/app/blobs/uploads/").status_code == 403
    assert member.call("POST", f"/v2/{ORG}/app/blobs/uploads/").status_code == 403


def test_guests_pull_public_repositories_only(registry, pushed):
    _digest, body = pushed
    Oci(registry, registry.admin_key).push_image(repo("private"), "v1")
    made_public = registry.call("PATCH", f"/v2/org/{ORG}/repos/app", registry.admin_key, json={"isPublic": True})
    assert made_public.status_code == 200
    guest = Oci(registry, None)
    assert guest.call("GET", f"/v2/{APP}/manifests/v1").content == body
    assert guest.call("GET", f"/v2/{APP}/tags/list").status_code == 200
    for name in (repo("private"), repo("never-pushed"), "no-such-org/app"):
        refused = guest.call("GET", f"/v2/{name}/manifests/v1")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == CHALLENGE, name
    assert guest.call("POST", f"/v2/{APP}/blobs/uploads/").status_code == 401
    assert guest.call("GET", "/v2/_catalog").json()["repositories"] == [APP]


def test_anonymous_tokens_as_docker_clients_fetch_them(registry, pushed):
    registry.call("PATCH", f"/v2/org/{ORG}/repos/app", registry.admin_key, json={"isPublic": True})
    Oci(registry, registry.admin_key).push_image(repo("private"), "v1")
    signed = token(registry, None, f"repository:{APP}:pull,push", f"repository:{repo('private')}:pull")
    assert access(signed) == [{"type": "repository", "name": APP, "actions": ["pull"]},
                              {"type": "repository", "name": repo("private"), "actions": []}]
    anonymous = bearer(registry, signed)
    assert anonymous.call("GET", f"/v2/{APP}/manifests/v1").status_code == 200
    refused = anonymous.call("GET", f"/v2/{repo('private')}/manifests/v1")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == CHALLENGE
    assert anonymous.call("POST", f"/v2/{APP}/blobs/uploads/").status_code == 401
    assert anonymous.call("GET", "/v2/").status_code == 401
    no_scope = registry.client.get("/token?service=ngc&")
    assert no_scope.status_code == 401


def test_an_anonymous_token_does_not_open_the_ngc_api(registry, pushed):
    signed = token(registry, None, f"repository:{APP}:pull")
    response = registry.client.get("/v2/users/me", headers={"Authorization": f"Bearer {signed}"})
    assert response.status_code == 401
