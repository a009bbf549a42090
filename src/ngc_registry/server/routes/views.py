"""Wire shapes of the NGC API (PROTOCOL.md §4.1): rows in, dicts out."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from ..db.tables import ApiKey, Org, RoleGrant, Team, User


def ngc_date(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def org_view(org: Org) -> dict:
    return {"id": org.id, "name": org.name, "displayName": org.display_name, "description": org.description,
            "type": org.type, "createdDate": ngc_date(org.created_at)}


def team_view(team: Team) -> dict:
    return {"id": team.id, "name": team.name, "description": team.description, "isDeleted": team.is_deleted,
            "createdDate": ngc_date(team.created_at)}


class ShownGrant(NamedTuple):
    """A grant as a user's view shows it (`users.grants_shown` reads these columns)."""

    org_id: int
    team_id: int | None
    role: str
    org_name: str
    org_display_name: str
    team_name: str | None

    @classmethod
    def of(cls, grant: RoleGrant) -> ShownGrant:
        return cls(grant.org_id, grant.team_id, grant.role, grant.org.name, grant.org.display_name,
                   grant.team.name if grant.team else None)


def roles_view(grants, org_id: int | None = None) -> list[dict]:
    """Group grants (`ShownGrant`s or rows with their columns) as NGC does: one entry per org with its orgRoles, one
    per team with its teamRoles."""
    grouped: dict[tuple[int, int | None], list] = defaultdict(list)
    for grant in grants:
        if org_id is None or grant.org_id == org_id:
            grouped[(grant.org_id, grant.team_id)].append(grant)
    entries = []
    for (_, team_id), group in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        entry = {"org": {"name": group[0].org_name, "displayName": group[0].org_display_name}}
        names = sorted(grant.role for grant in group)
        if team_id is None:
            entry.update(orgRoles=names, teamRoles=[])
        else:
            entry.update(team={"id": team_id, "name": group[0].team_name}, orgRoles=[], teamRoles=names)
        entries.append(entry)
    return entries


def user_view(user: User, org_id: int | None = None, grants=None) -> dict:
    """`user` is an ORM user or a row with its columns; `grants` as `users.grants_shown` reads them (by default the
    ORM user's roles)."""
    shown = grants if grants is not None else [ShownGrant.of(grant) for grant in user.roles]
    return {"id": user.id, "name": user.name, "email": user.email, "starfleetId": user.starfleet_id,
            "createdDate": ngc_date(user.created_at), "isActive": user.is_active,
            "hasPassword": user.password_hash is not None, "roles": roles_view(shown, org_id)}


def key_view(key: ApiKey, secret: str | None = None) -> dict:
    view = {"id": key.id, "name": key.name, "type": key.kind, "org": key.org.name if key.org else None,
            "createdDate": ngc_date(key.created_at), "expiryDate": ngc_date(key.expires_at),
            "lastChars": key.last_chars}
    if secret is not None:
        view["apiKey"] = secret
    return view


def paged(items: list[dict], key: str, page: int, size: int, total: int) -> dict:
    pages = (total + size - 1) // size if size else 0
    return {key: items, "paginationInfo": {"index": page, "size": size, "totalResults": total,
                                           "totalPages": pages}}
