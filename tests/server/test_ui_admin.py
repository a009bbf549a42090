"""Administration pages: inviting users, roles, removal, teams and their members, the audit — and refusals for
those whose roles do not allow it (the same `authorize()` as the API decides)."""

from __future__ import annotations

import re

from .conftest import ORG
from .test_ui_support import Web, follow, signed_in

USERS = f"/admin/{ORG}/users"


def user_id(registry, email: str) -> int:
    return registry.call("GET", f"/v2/org/{ORG}/users/{email}", registry.admin_key).json()["user"]["id"]


def roles_of(registry, email: str) -> list[tuple[str | None, str]]:
    """(team or None for the org, role), org roles first."""
    user = registry.call("GET", f"/v2/org/{ORG}/users/{email}", registry.admin_key).json()["user"]
    found = [(entry.get("team", {}).get("name"), role) for entry in user["roles"]
             for role in entry["orgRoles"] + entry["teamRoles"]]
    return sorted(found, key=lambda item: (item[0] or "", item[1]))


def test_admin_invites_a_user_and_sees_the_link_once(registry):
    web = signed_in(registry)
    page = web.post(USERS, {"email": "Invitee@Example.com", "name": "<i>Invitee</i>",
                            "role": "REGISTRY_WRITE_USER_ROLE", "team": ""})
    assert page.status_code == 200
    link = re.search(r'id="invitation-link">([^<]+)<', page.text).group(1)
    assert link.startswith("http://testserver/activate?token=")
    assert "&lt;i&gt;Invitee&lt;/i&gt;" in page.text and "<i>Invitee</i>" not in page.text
    again = web.get(USERS).text
    assert link not in again and "invitee@example.com" in again and ">invited<" in again
    assert roles_of(registry, "invitee@example.com") == [(None, "REGISTRY_WRITE_USER_ROLE")]


def test_adding_an_existing_user_redirects_with_a_message(registry):
    registry.add_user("known@example.com", ["REGISTRY_READ"])
    registry.add_team("ml")
    web = signed_in(registry)
    response = web.post(USERS, {"email": "known@example.com", "role": "REGISTRY_WRITE_USER_ROLE", "team": "ml"})
    assert "known@example.com now has REGISTRY_WRITE_USER_ROLE in team &#39;ml&#39;" in follow(web, response).text
    assert roles_of(registry, "known@example.com") == [(None, "REGISTRY_READ"), ("ml", "REGISTRY_WRITE_USER_ROLE")]


def test_invalid_invitation_comes_back_with_the_reason(registry):
    web = signed_in(registry)
    response = web.post(USERS, {"email": "not-an-email", "role": "REGISTRY_WRITE_USER_ROLE"})
    assert response.headers["location"] == USERS
    assert "Invalid email address" in follow(web, response).text


def test_roles_are_added_and_removed_and_users_removed(registry):
    registry.add_user("dev@example.com", ["REGISTRY_READ"])
    uid = user_id(registry, "dev@example.com")
    web = signed_in(registry)
    web.post(f"{USERS}/{uid}/roles", {"role": "REGISTRY_WRITE_USER_ROLE", "team": ""}, page=USERS)
    assert roles_of(registry, "dev@example.com") == [(None, "REGISTRY_READ"), (None, "REGISTRY_WRITE_USER_ROLE")]
    web.post(f"{USERS}/{uid}/roles/remove", {"role": "REGISTRY_READ", "team": ""}, page=USERS)
    assert roles_of(registry, "dev@example.com") == [(None, "REGISTRY_WRITE_USER_ROLE")]
    response = web.post(f"{USERS}/{uid}/remove", page=USERS)
    assert "dev@example.com was removed from org" in follow(web, response).text
    assert "dev@example.com" not in web.get(USERS).text


def test_teams_are_created_and_given_members(registry):
    registry.add_user("member@example.com", ["REGISTRY_READ"])
    web = signed_in(registry)
    created = web.post(f"/admin/{ORG}/teams", {"name": "Vision_Team", "description": "Detectors <&>"})
    assert created.headers["location"] == f"/admin/{ORG}/teams/vision-team"
    team_page = f"/admin/{ORG}/teams/vision-team"
    assert "Detectors &lt;&amp;&gt;" in follow(web, created).text
    added = web.post(f"{team_page}/users", {"email": "member@example.com", "role": "REGISTRY_WRITE_TEAM_ADMIN"},
                     page=team_page)
    assert "member@example.com" in follow(web, added).text
    assert ("vision-team", "REGISTRY_WRITE_TEAM_ADMIN") in roles_of(registry, "member@example.com")
    invited = web.post(f"{team_page}/users", {"email": "fresh@example.com", "role": "REGISTRY_WRITE_USER_ROLE"},
                       page=team_page)
    assert 'id="invitation-link"' in invited.text
    uid = user_id(registry, "member@example.com")
    web.post(f"/admin/{ORG}/users/{uid}/remove", {"team": "vision-team"}, page=team_page)
    assert roles_of(registry, "member@example.com") == [(None, "REGISTRY_READ")]
    duplicate = web.post(f"/admin/{ORG}/teams", {"name": "vision-team"})
    assert "already exists" in follow(web, duplicate).text


def test_audit_shows_who_did_what(registry):
    registry.add_user("audited@example.com", ["REGISTRY_READ"])
    page = signed_in(registry).get(f"/admin/{ORG}/audit").text
    assert "role.grant" in page and "audited@example.com" in page and "admin@example.com" in page


def test_users_without_admin_roles_are_refused(registry):
    registry.add_user("plain@example.com", ["REGISTRY_WRITE_USER_ROLE"])
    uid = user_id(registry, "admin@example.com")
    web = signed_in(registry, "plain@example.com")
    assert 'href="/admin"' not in web.get("/catalog").text
    for path in ("/admin", USERS, f"/admin/{ORG}/audit"):
        assert web.get(path).status_code == 403, path
    token = web.csrf("/setup")
    for path, data in ((USERS, {"email": "x@example.com", "role": "REGISTRY_WRITE_USER_ROLE"}),
                       (f"{USERS}/{uid}/remove", {}), (f"{USERS}/{uid}/roles/remove", {"role": "REGISTRY_WRITE_ADMIN"}),
                       (f"/admin/{ORG}/teams", {"name": "sneaky"})):
        response = web.client.post(path, data={"csrf": token, **data})
        assert response.status_code == 403, path
    assert roles_of(registry, "admin@example.com") == [(None, "REGISTRY_WRITE_ADMIN")]


def test_team_admins_manage_their_team_only(registry):
    registry.add_team("ml")
    registry.add_team("other")
    registry.add_user("lead@example.com", ["REGISTRY_WRITE_TEAM_ADMIN"], team="ml")
    registry.add_user("dev@example.com", ["REGISTRY_READ"])
    web = signed_in(registry, "lead@example.com")
    home = web.get("/admin").text
    assert f"/admin/{ORG}/teams/ml" in home and f"/admin/{ORG}/teams/other" not in home
    assert web.get(USERS).status_code == 403
    assert web.get(f"/admin/{ORG}/teams/other").status_code == 403
    team_page = f"/admin/{ORG}/teams/ml"
    added = web.post(f"{team_page}/users", {"email": "dev@example.com", "role": "REGISTRY_WRITE_USER_ROLE"},
                     page=team_page)
    assert added.status_code == 303
    assert ("ml", "REGISTRY_WRITE_USER_ROLE") in roles_of(registry, "dev@example.com")
    grant_admin = web.post(f"{team_page}/users", {"email": "dev@example.com", "role": "REGISTRY_WRITE_ADMIN"},
                           page=team_page)
    assert grant_admin.status_code == 403
    outsider = web.post(f"{team_page}/users", {"email": "stranger@example.com", "role": "REGISTRY_READ"},
                        page=team_page)
    assert outsider.status_code == 403


def test_guests_are_sent_to_sign_in(registry):
    guest = Web(registry.client.app)
    response = guest.get(USERS)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={USERS}"
