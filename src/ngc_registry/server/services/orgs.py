"""Orgs and teams."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ...errors import AlreadyExistsError, OrgNotFoundError, TeamNotFoundError
from ...refs import normalize_team_name, validate_org_name
from ..db.tables import Org, Team
from . import audit


def create_org(session: Session, name: str, display_name: str = "", description: str = "") -> Org:
    validate_org_name(name)
    if session.scalar(select(Org.id).where(Org.name == name)) is not None:
        raise AlreadyExistsError(f"Org '{name}' already exists.")
    org = Org(name=name, display_name=display_name or name, description=description)
    session.add(org)
    session.flush()
    return org


# Statements of the hottest lookups are built once: building one costs more than running it on SQLite.
_ORG_BY_NAME = select(Org).where(Org.name == bindparam("name"))
_TEAM_BY_NAME = select(Team).where(Team.org_id == bindparam("org_id"), Team.name == bindparam("name"),
                                   Team.is_deleted.is_(False))


def get_org(session: Session, name: str) -> Org:
    org = session.scalar(_ORG_BY_NAME, {"name": name})
    if org is None:
        raise OrgNotFoundError(f"Org '{name}' not found.")
    return org


def list_orgs(session: Session, org_ids: set[int]) -> list[Org]:
    if not org_ids:
        return []
    return list(session.scalars(select(Org).where(Org.id.in_(org_ids)).order_by(Org.name)))


def create_team(session: Session, org: Org, name: str, description: str, actor_id: int | None) -> Team:
    team_name = normalize_team_name(name)
    if session.scalar(select(Team.id).where(Team.org_id == org.id, Team.name == team_name)) is not None:
        raise AlreadyExistsError(f"Team '{team_name}' already exists in org '{org.name}'.")
    team = Team(org_id=org.id, name=team_name, description=description)
    session.add(team)
    session.flush()  # a concurrent twin fails here: 409, via the server's handler (catching it here would leave
    #                  a rolled-back transaction that fails again, as a 500, when the request ends)
    audit.record(session, actor_id, org.id, "team.create", f"{org.name}/{team_name}")
    return team


def get_team(session: Session, org: Org, name: str) -> Team:
    team_name = name.strip().lower().replace("_", "-")
    team = session.scalar(_TEAM_BY_NAME, {"org_id": org.id, "name": team_name})
    if team is None:
        raise TeamNotFoundError(f"Team '{name}' not found in org '{org.name}'.")
    return team


def list_teams(session: Session, org: Org, team_ids: set[int] | None = None) -> list[Team]:
    query = select(Team).where(Team.org_id == org.id, Team.is_deleted.is_(False))
    if team_ids is not None:
        query = query.where(Team.id.in_(team_ids))
    return list(session.scalars(query.order_by(Team.name)))
