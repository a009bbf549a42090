"""Orgs, teams and users: shapes, normalisation, and bad input that must change nothing."""

from __future__ import annotations

from .conftest import ORG


def test_org_list_and_info_shapes(registry):
    orgs = registry.call("GET", "/v2/orgs?page-size=500", registry.admin_key).json()["organizations"]
    assert [o["name"] for o in orgs] == [ORG]
    info = registry.call("GET", f"/v2/orgs/{ORG}", registry.admin_key).json()
    assert info["organizations"]["name"] == ORG


def test_unknown_org_is_404_with_message(registry):
    response = registry.call("GET", "/v2/orgs/nope", registry.admin_key)
    assert response.status_code == 404
    assert response.json()["requestStatus"]["statusDescription"] == "Org 'nope' not found."


def test_team_name_is_normalised(registry):
    team = registry.add_team("team_A")
    assert team["name"] == "team-a" and team["isDeleted"] is False
    got = registry.call("GET", f"/v2/org/{ORG}/teams/team_a", registry.admin_key).json()["team"]
    assert got["id"] == team["id"]


def test_duplicate_team_is_409_and_creates_nothing(registry):
    registry.add_team("team-a")
    response = registry.call("POST", f"/v2/org/{ORG}/teams", registry.admin_key, json={"name": "team_a"})
    assert response.status_code == 409
    teams = registry.call("GET", f"/v2/org/{ORG}/teams", registry.admin_key).json()["teams"]
    assert [t["name"] for t in teams] == ["team-a"]


def test_bad_team_name_is_400(registry):
    for bad in ["", "-x", "a b", "x" * 80, "team/a"]:
        response = registry.call("POST", f"/v2/org/{ORG}/teams", registry.admin_key, json={"name": bad})
        assert response.status_code == 400, bad
    assert registry.call("GET", f"/v2/org/{ORG}/teams", registry.admin_key).json()["teams"] == []


def test_unknown_team_is_404(registry):
    response = registry.call("GET", f"/v2/org/{ORG}/teams/ghost", registry.admin_key)
    assert response.status_code == 404
    assert "ghost" in response.json()["requestStatus"]["statusDescription"]


def test_add_user_to_team_creates_the_user_with_a_team_role(registry):
    registry.add_team("team-a")
    body = {"email": "JSmith@Example.com", "name": "John Smith", "roleTypes": ["REGISTRY_WRITE_TEAM_ADMIN_ROLE"]}
    user = registry.call("POST", f"/v2/org/{ORG}/team/team-a/users", registry.admin_key, json=body).json()["user"]
    assert user["email"] == "jsmith@example.com"
    assert user["roles"] == [{"org": {"name": ORG, "displayName": ORG}, "team": {"id": 1, "name": "team-a"},
                              "orgRoles": [], "teamRoles": ["REGISTRY_WRITE_TEAM_ADMIN"]}]


def test_duplicate_membership_is_409(registry):
    registry.add_user("bob@example.com", ["REGISTRY_WRITE_USER_ROLE"])
    body = {"email": "bob@example.com", "name": "Bob", "roleTypes": ["REGISTRY_WRITE_USER_ROLE"]}
    response = registry.call("POST", f"/v2/org/{ORG}/users", registry.admin_key, json=body)
    assert response.status_code == 409


def test_unknown_role_is_400_and_creates_no_user(registry):
    body = {"email": "new@example.com", "name": "New", "roleTypes": ["REGISTRY_SUPERUSER"]}
    response = registry.call("POST", f"/v2/org/{ORG}/users", registry.admin_key, json=body)
    assert response.status_code == 400
    assert "REGISTRY_SUPERUSER" in response.json()["requestStatus"]["statusDescription"]
    users = registry.call("GET", f"/v2/org/{ORG}/users", registry.admin_key).json()["users"]
    assert [u["email"] for u in users] == ["admin@example.com"]


def test_bad_email_is_400(registry):
    body = {"email": "not-an-email", "name": "X", "roleTypes": ["REGISTRY_READ"]}
    assert registry.call("POST", f"/v2/org/{ORG}/users", registry.admin_key, json=body).status_code == 400


def test_list_users_paging_and_email_filter(registry):
    for n in range(3):
        registry.add_user(f"u{n}@example.com", ["REGISTRY_READ"])
    page = registry.call("GET", f"/v2/org/{ORG}/users?page-size=2&page-number=1", registry.admin_key).json()
    assert page["paginationInfo"]["totalResults"] == 4 and len(page["users"]) == 2
    q = '{"filters":[{"field":"email","value":"u1@example.com"}]}'
    found = registry.call("GET", f"/v2/org/{ORG}/users", registry.admin_key, params={"q": q}).json()["users"]
    assert [u["email"] for u in found] == ["u1@example.com"]


def test_v3_add_and_remove_team_role(registry):
    registry.add_team("team-a")
    registry.add_user("bob@example.com", ["REGISTRY_WRITE_USER_ROLE"])
    path = f"/v3/orgs/{ORG}/teams/team-a/users/bob@example.com"
    added = registry.call("PATCH", f"{path}/add-role?roles=REGISTRY_USER", registry.admin_key).json()["user"]
    assert any(r.get("teamRoles") == ["REGISTRY_WRITE_USER_ROLE"] for r in added["roles"])
    got = registry.call("GET", f"/v3/orgs/{ORG}/teams/team-a/users/bob@example.com", registry.admin_key)
    assert got.status_code == 200
    registry.call("DELETE", f"{path}/remove-role?roles=REGISTRY_USER", registry.admin_key)
    assert registry.call("GET", f"/v3/orgs/{ORG}/teams/team-a/users/bob@example.com",
                         registry.admin_key).status_code == 404


def test_reserved_org_names_are_refused():
    import pytest

    from ngc_registry.errors import InvalidNameError
    from ngc_registry.refs import NGC_V2_WORDS, validate_org_name

    for word in NGC_V2_WORDS | {"_catalog"}:
        with pytest.raises(InvalidNameError):
            validate_org_name(word)


def test_errors_use_the_oci_envelope_on_oci_paths(registry):
    body = registry.client.get("/v2/").json()
    assert body["errors"][0]["code"] == "UNAUTHORIZED"


def test_malformed_json_body_is_a_400_in_the_ngc_envelope(registry):
    headers = {**registry.headers(registry.admin_key), "content-type": "application/json"}
    response = registry.client.post(f"/v2/org/{ORG}/teams", content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.json()["requestStatus"]["statusCode"] == "BAD_REQUEST"
