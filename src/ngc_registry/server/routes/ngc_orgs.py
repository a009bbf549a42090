"""Orgs, teams and their users (PROTOCOL.md §4.1), v2 and v3 paths."""

from __future__ import annotations

import json

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...errors import BadRequestError, UnauthorizedError
from ..auth import policy
from ..auth.policy import Action, Principal, Scope
from ..db.tables import Org, Team
from ..deps import DB, Caller, PlainRoute
from ..rendering import ngc_status
from ..services import orgs, users
from .views import org_view, paged, team_view, user_view

router = APIRouter(route_class=PlainRoute)


def _ok(**body) -> dict:
    return {**body, "requestStatus": ngc_status()}


def _place(session: Session, org_name: str, team_name: str | None = None) -> tuple[Org, Team | None, Scope]:
    org = orgs.get_org(session, org_name)
    team = orgs.get_team(session, org, team_name) if team_name else None
    return org, team, Scope(org_id=org.id, team_id=team.id if team else None)


@router.get("/v2/orgs")
def list_orgs(session: DB, principal: Caller,
              page_size: int = Query(500, alias="page-size", ge=1, le=1000)) -> dict:
    if principal.is_guest:
        raise UnauthorizedError("Authentication required: provide an API key.")
    found = orgs.list_orgs(session, {grant.org_id for grant in principal.grants})[:page_size]
    return _ok(**paged([org_view(org) for org in found], "organizations", 0, page_size, len(found)))


@router.get("/v2/orgs/{org_name}")
def get_org(org_name: str, session: DB, principal: Caller) -> dict:
    org, _, scope = _place(session, org_name)
    policy.authorize(principal, Action.VIEW_ORG, scope)
    return _ok(organizations=org_view(org))


def _team_visible(principal: Principal, org: Org, team: Team) -> bool:
    scope = Scope(org_id=org.id, team_id=team.id)
    return policy.allows(principal, Action.VIEW, scope) or policy.allows(principal, Action.ADD_USER_TO_TEAM, scope)


@router.get("/v2/org/{org_name}/teams")
def list_teams(org_name: str, session: DB, principal: Caller,
               page_size: int = Query(500, alias="page-size", ge=1, le=1000)) -> dict:
    org, _, scope = _place(session, org_name)
    policy.authorize(principal, Action.VIEW_ORG, scope)
    found = [team for team in orgs.list_teams(session, org) if _team_visible(principal, org, team)][:page_size]
    return _ok(**paged([team_view(team) for team in found], "teams", 0, page_size, len(found)))


class NewTeam(BaseModel):
    name: str = Field(max_length=64)
    description: str = Field(default="", max_length=4096)


@router.post("/v2/org/{org_name}/teams")
def create_team(org_name: str, body: NewTeam, session: DB, principal: Caller) -> dict:
    org, _, scope = _place(session, org_name)
    policy.authorize(principal, Action.ADD_TEAM, scope)
    return _ok(team=team_view(orgs.create_team(session, org, body.name, body.description, principal.user_id)))


@router.get("/v2/org/{org_name}/teams/{team_name}")
def get_team(org_name: str, team_name: str, session: DB, principal: Caller) -> dict:
    org, team, scope = _place(session, org_name, team_name)
    if not _team_visible(principal, org, team):
        policy.authorize(principal, Action.VIEW, scope)
    return _ok(team=team_view(team))


def _email_filter(q: str | None) -> str | None:
    if not q:
        return None
    try:
        filters = json.loads(q).get("filters", [])
    except (ValueError, AttributeError, RecursionError):
        raise BadRequestError("Invalid 'q': expected JSON with 'filters'.") from None
    if not isinstance(filters, list):
        raise BadRequestError("Invalid 'q': 'filters' must be a list.")
    emails = [f.get("value") for f in filters if isinstance(f, dict) and f.get("field") == "email"]
    return emails[0].strip().lower() if emails and isinstance(emails[0], str) else None


def _list_users(session: Session, principal: Principal, org_name: str, team_name: str | None,
                page: int, size: int, q: str | None) -> dict:
    org, team, scope = _place(session, org_name, team_name)
    policy.authorize(principal, Action.LIST_USERS, scope)
    found, total = users.members(session, org, team, page, size, _email_filter(q))
    return _ok(**paged([user_view(user, org.id) for user in found], "users", page, size, total))


@router.get("/v2/org/{org_name}/users")
def list_org_users(org_name: str, session: DB, principal: Caller, q: str | None = None,
                   page_size: int = Query(100, alias="page-size", ge=1, le=1000),
                   page_number: int = Query(0, alias="page-number", ge=0, le=1_000_000)) -> dict:
    return _list_users(session, principal, org_name, None, page_number, page_size, q)


@router.get("/v2/org/{org_name}/team/{team_name}/users")
def list_team_users(org_name: str, team_name: str, session: DB, principal: Caller, q: str | None = None,
                    page_size: int = Query(100, alias="page-size", ge=1, le=1000),
                    page_number: int = Query(0, alias="page-number", ge=0, le=1_000_000)) -> dict:
    return _list_users(session, principal, org_name, team_name, page_number, page_size, q)


def _get_member(session: Session, principal: Principal, org_name: str, team_name: str | None, ident: str) -> dict:
    org, team, scope = _place(session, org_name, team_name)
    user = users.find_user(session, ident)
    if user.id != principal.user_id:
        policy.authorize(principal, Action.LIST_USERS, scope)
    if not users.is_member_of(session, user, org, team):
        raise users.UserNotFoundError(f"User '{ident}' is not a member of {team_name or org_name}.")
    return _ok(user=user_view(user, org.id))


@router.get("/v2/org/{org_name}/users/{ident}")
def get_org_user(org_name: str, ident: str, session: DB, principal: Caller) -> dict:
    return _get_member(session, principal, org_name, None, ident)


@router.get("/v2/org/{org_name}/team/{team_name}/users/{ident}")
@router.get("/v3/orgs/{org_name}/teams/{team_name}/users/{ident}")
def get_team_user(org_name: str, team_name: str, ident: str, session: DB, principal: Caller) -> dict:
    return _get_member(session, principal, org_name, team_name, ident)
