"""Rows and `Key: value` pairs made from User, org and team objects."""

from __future__ import annotations

from ngc_registry.cli.views import (org_role_rows, roles_in_org, roles_in_team, team_pairs, team_role_rows,
                                    user_pairs, user_row)

USER = {"id": 7, "name": "John Smith", "email": "jsmith@example.com", "createdDate": "2026-01-01T00:00:00.000Z",
        "roles": [{"org": {"name": "acme", "displayName": "Acme"}, "orgRoles": ["REGISTRY_WRITE_USER_ROLE"]},
                  {"org": {"name": "acme"}, "team": {"id": 3, "name": "team-a"},
                   "teamRoles": ["REGISTRY_WRITE_TEAM_ADMIN"]},
                  {"org": {"name": "other"}, "orgRoles": ["REGISTRY_READ"]}]}


def test_org_and_team_role_rows():
    assert org_role_rows(USER) == [["acme", "REGISTRY_WRITE_USER_ROLE"], ["other", "REGISTRY_READ"]]
    assert team_role_rows(USER) == [["team-a", "REGISTRY_WRITE_TEAM_ADMIN"]]


def test_roles_in_org_mark_team_roles_with_the_team():
    assert roles_in_org(USER, "acme") == ["REGISTRY_WRITE_USER_ROLE", "team-a:REGISTRY_WRITE_TEAM_ADMIN"]
    assert roles_in_team(USER, "acme", "team-a") == ["REGISTRY_WRITE_TEAM_ADMIN"]
    assert roles_in_team(USER, "acme", "team-b") == []


def test_user_row_and_pairs():
    assert user_row(USER, ["R"]) == [7, "John Smith", "jsmith@example.com", "R", "2026-01-01T00:00:00.000Z"]
    assert dict(user_pairs(USER, "other"))["Roles"] == "REGISTRY_READ"


def test_team_pairs_as_the_guide_prints_them():
    assert team_pairs({"id": 363, "name": "team-a", "description": "Team A"}) == [
        ("Id", 363), ("Name", "team-a"), ("Description", "Team A"), ("Deleted", False)]


def test_user_without_roles():
    assert org_role_rows({}) == [] and team_role_rows({"roles": None}) == []
