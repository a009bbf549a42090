"""The guide's role table (§3.2) over HTTP, for the user and team administration cells.

The registry cells (images, models, model-scripts) are checked over HTTP by the tests of those APIs; the whole
table is also checked cell by cell against the policy in tests/unit/test_policy.py.
"""

from __future__ import annotations

import pytest

from .conftest import ORG

ROLES = ["REGISTRY_WRITE_ADMIN", "REGISTRY_WRITE_TEAM_ADMIN", "REGISTRY_WRITE_USER_ROLE", "REGISTRY_READ"]


@pytest.fixture
def keys(registry) -> dict[str, str]:
    """One user per role; the team admin and team roles are on team-a, the others on the org."""
    registry.add_team("team-a")
    registry.add_team("team-b")
    found = {}
    for role in ROLES:
        team = "team-a" if role == "REGISTRY_WRITE_TEAM_ADMIN" else None
        found[role] = registry.add_user(f"{role.lower()}@example.com", [role], team=team)
    return found


# (role, may add teams, may add new users to the org, may add users to team-a, may add users to team-b)
TABLE = [
    ("REGISTRY_WRITE_ADMIN", True, True, True, True),
    ("REGISTRY_WRITE_TEAM_ADMIN", False, False, True, False),
    ("REGISTRY_WRITE_USER_ROLE", False, False, False, False),
    ("REGISTRY_READ", False, False, False, False),
]


def _status(allowed: bool) -> int:
    return 200 if allowed else 403


@pytest.mark.parametrize("role,add_team,_u,_a,_b", TABLE)
def test_add_teams(registry, keys, role, add_team, _u, _a, _b):
    response = registry.call("POST", f"/v2/org/{ORG}/teams", keys[role], json={"name": f"new-{role[-5:].lower()}"})
    assert response.status_code == _status(add_team), response.text


@pytest.mark.parametrize("role,_t,add_user,_a,_b", TABLE)
def test_add_new_users(registry, keys, role, _t, add_user, _a, _b):
    body = {"email": f"new-{role.lower()}@example.com", "name": "New", "roleTypes": ["REGISTRY_WRITE_USER_ROLE"]}
    response = registry.call("POST", f"/v2/org/{ORG}/users", keys[role], json=body)
    assert response.status_code == _status(add_user), response.text


@pytest.mark.parametrize("role,_t,_u,team_a,team_b", TABLE)
def test_add_users_to_teams(registry, keys, role, _t, _u, team_a, team_b):
    registry.add_user("member@example.com", ["REGISTRY_READ"])
    body = {"email": "member@example.com", "name": "Member", "roleTypes": ["REGISTRY_WRITE_USER_ROLE"]}
    for team, allowed in (("team-a", team_a), ("team-b", team_b)):
        response = registry.call("POST", f"/v2/org/{ORG}/team/{team}/users", keys[role], json=body)
        assert response.status_code == _status(allowed), (team, response.text)


def test_team_admin_cannot_invite_someone_new_even_to_own_team(registry, keys):
    body = {"email": "stranger@example.com", "name": "S", "roleTypes": ["REGISTRY_WRITE_USER_ROLE"]}
    response = registry.call("POST", f"/v2/org/{ORG}/team/team-a/users", keys["REGISTRY_WRITE_TEAM_ADMIN"], json=body)
    assert response.status_code == 403
    emails = [u["email"] for u in registry.call("GET", f"/v2/org/{ORG}/users", registry.admin_key).json()["users"]]
    assert "stranger@example.com" not in emails


def test_team_admin_cannot_grant_org_admin(registry, keys):
    registry.add_user("member@example.com", ["REGISTRY_READ"])
    body = {"email": "member@example.com", "name": "M", "roleTypes": ["REGISTRY_WRITE_ADMIN"]}
    response = registry.call("POST", f"/v2/org/{ORG}/team/team-a/users", keys["REGISTRY_WRITE_TEAM_ADMIN"], json=body)
    assert response.status_code == 403


def test_user_role_cannot_list_users_but_admins_can(registry, keys):
    assert registry.call("GET", f"/v2/org/{ORG}/users", keys["REGISTRY_WRITE_USER_ROLE"]).status_code == 403
    assert registry.call("GET", f"/v2/org/{ORG}/users", keys["REGISTRY_WRITE_ADMIN"]).status_code == 200
    team_admin = keys["REGISTRY_WRITE_TEAM_ADMIN"]
    assert registry.call("GET", f"/v2/org/{ORG}/team/team-a/users", team_admin).status_code == 200
    assert registry.call("GET", f"/v2/org/{ORG}/team/team-b/users", team_admin).status_code == 403


def test_team_member_sees_org_but_only_own_team(registry, keys):
    team_admin = keys["REGISTRY_WRITE_TEAM_ADMIN"]
    assert registry.call("GET", f"/v2/orgs/{ORG}", team_admin).status_code == 200
    teams = registry.call("GET", f"/v2/org/{ORG}/teams", team_admin).json()["teams"]
    assert [t["name"] for t in teams] == ["team-a"]
    assert registry.call("GET", f"/v2/org/{ORG}/teams/team-b", team_admin).status_code == 403


def test_other_org_is_invisible(registry, settings):
    from ngc_registry.server.services import orgs

    with registry.client.app.state.sessions.begin() as session:
        orgs.create_org(session, "other")
    assert registry.call("GET", "/v2/orgs/other", registry.admin_key).status_code == 403
    assert registry.call("POST", "/v2/org/other/teams", registry.admin_key, json={"name": "x"}).status_code == 403
    names = [o["name"] for o in registry.call("GET", "/v2/orgs", registry.admin_key).json()["organizations"]]
    assert names == [ORG]


def test_personal_key_is_limited_to_its_org(registry):
    from ngc_registry.server.services import orgs, users
    from ngc_registry.server.auth.policy import Role

    with registry.client.app.state.sessions.begin() as session:
        other = orgs.create_org(session, "other")
        users.grant_roles(session, users.find_user(session, "admin@example.com"), other, None, [Role.WRITE_ADMIN], None)
    key = registry.call("POST", "/v3/keys", registry.admin_key, json={"name": "ci", "org": ORG}).json()["key"]
    assert registry.call("GET", "/v2/orgs/other", key["apiKey"]).status_code == 403
    assert registry.call("GET", "/v2/orgs/other", registry.admin_key).status_code == 200


# The registry cells for models and model-scripts: (role, view, create and upload, download, delete others' models)
MODEL_TABLE = [
    ("REGISTRY_WRITE_ADMIN", True, True, True, True),
    ("REGISTRY_WRITE_TEAM_ADMIN", True, True, True, True),
    ("REGISTRY_WRITE_USER_ROLE", True, True, True, False),
    ("REGISTRY_READ", True, False, True, False),
]


def _model(registry, key, name, kind="models"):
    space = f"/v2/org/{ORG}/team/team-a"
    created = registry.call("POST", f"{space}/{kind}", key, json={"name": name})
    return created.status_code


@pytest.mark.parametrize("kind", ["models", "resources"])
@pytest.mark.parametrize("role,view,create,download,delete_others", MODEL_TABLE)
def test_model_cells(registry, keys, kind, role, view, create, download, delete_others):
    space = f"/v2/org/{ORG}/team/team-a/{kind}"
    assert _model(registry, registry.admin_key, "theirs", kind) == 200
    registry.call("POST", f"{space}/theirs/versions", registry.admin_key, json={"versionId": "1"})
    registry.call("PATCH", f"{space}/theirs/versions/1", registry.admin_key, json={"status": "UPLOAD_COMPLETE"})
    key = keys[role]
    assert registry.call("GET", f"{space}/theirs", key).status_code == _status(view)
    assert registry.call("GET", f"{space}/theirs/1/files", key).status_code == _status(download)
    assert _model(registry, key, "mine", kind) == _status(create)
    assert registry.call("DELETE", f"{space}/theirs", key).status_code == _status(delete_others)


def test_user_role_may_delete_own_model(registry, keys):
    key = keys["REGISTRY_WRITE_USER_ROLE"]
    assert _model(registry, key, "mine") == 200
    assert registry.call("DELETE", f"/v2/org/{ORG}/team/team-a/models/mine", key).status_code == 200


def test_team_roles_do_not_reach_other_teams_models(registry, keys):
    space = f"/v2/org/{ORG}/team/team-b/models"
    registry.call("POST", space, registry.admin_key, json={"name": "b-model"})
    team_admin = keys["REGISTRY_WRITE_TEAM_ADMIN"]
    assert registry.call("GET", f"{space}/b-model", team_admin).status_code == 403
    assert registry.call("POST", space, team_admin, json={"name": "intruder"}).status_code == 403


def test_only_org_admin_may_make_content_public(registry, keys):
    space = f"/v2/org/{ORG}/team/team-a/models"
    registry.call("POST", space, keys["REGISTRY_WRITE_TEAM_ADMIN"], json={"name": "m"})
    assert registry.call("PATCH", f"{space}/m", keys["REGISTRY_WRITE_TEAM_ADMIN"], json={"isPublic": True}).status_code == 403
    assert registry.call("PATCH", f"{space}/m", registry.admin_key, json={"isPublic": True}).status_code == 200
