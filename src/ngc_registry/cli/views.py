"""How users, orgs and teams read on screen: table rows and `Key: value` pairs built from API objects."""

from __future__ import annotations

from typing import Any

USER_COLUMNS = ["Id", "Name", "Email", "Roles", "Created Date"]


def _role_entries(user: dict) -> list[dict]:
    return [entry for entry in user.get("roles") or [] if isinstance(entry, dict)]


def _org_name(entry: dict) -> str:
    return (entry.get("org") or {}).get("name") or ""


def _team_name(entry: dict) -> str | None:
    return (entry.get("team") or {}).get("name")


def org_role_rows(user: dict) -> list[list[Any]]:
    """[org, org roles] for each org where the user holds org roles."""
    return [[_org_name(entry), ", ".join(entry.get("orgRoles") or [])]
            for entry in _role_entries(user) if not _team_name(entry) and entry.get("orgRoles")]


def team_role_rows(user: dict) -> list[list[Any]]:
    """[team, team roles] for each team where the user holds team roles."""
    return [[_team_name(entry), ", ".join(entry.get("teamRoles") or [])]
            for entry in _role_entries(user) if _team_name(entry) and entry.get("teamRoles")]


def roles_in_org(user: dict, org: str) -> list[str]:
    """The user's roles in one org: org roles as they are, team roles as `team:ROLE`."""
    roles: list[str] = []
    for entry in _role_entries(user):
        if _org_name(entry) not in ("", org):
            continue
        team = _team_name(entry)
        roles += [f"{team}:{role}" for role in entry.get("teamRoles") or []] if team else entry.get("orgRoles") or []
    return roles


def roles_in_team(user: dict, org: str, team: str) -> list[str]:
    return [role for entry in _role_entries(user)
            if _org_name(entry) in ("", org) and _team_name(entry) == team for role in entry.get("teamRoles") or []]


def user_row(user: dict, roles: list[str]) -> list[Any]:
    return [user.get("id"), user.get("name"), user.get("email"), ", ".join(roles), user.get("createdDate")]


def user_pairs(user: dict, org: str) -> list[tuple[str, Any]]:
    return [("Id", user.get("id")), ("Name", user.get("name")), ("Email", user.get("email")),
            ("Roles", ", ".join(roles_in_org(user, org))), ("Created Date", user.get("createdDate"))]


def team_pairs(team: dict) -> list[tuple[str, Any]]:
    return [("Id", team.get("id")), ("Name", team.get("name")), ("Description", team.get("description")),
            ("Deleted", bool(team.get("isDeleted", False)))]


def org_pairs(org: dict) -> list[tuple[str, Any]]:
    pairs = [("Name", org.get("name")), ("Display Name", org.get("displayName")),
             ("Description", org.get("description")), ("Type", org.get("type"))]
    return pairs + ([("Created Date", org["createdDate"])] if org.get("createdDate") else [])


def org_row(org: dict) -> list[Any]:
    return [org.get("name"), org.get("displayName"), org.get("description"), org.get("type")]


def team_row(team: dict) -> list[Any]:
    return [team.get("id"), team.get("name"), team.get("description")]
