"""Adding users to orgs and teams, and changing their roles (v2 invitations, v3 add-role/remove-role)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...errors import InvalidArgumentError
from ..auth import policy
from ..auth.policy import Principal, Role, Scope, parse_role
from ..db.tables import Org, Team, User
from ..deps import DB, Caller
from ..rendering import ngc_status
from ..services import orgs, users
from .ui_auth import activation_link
from .views import user_view

router = APIRouter()


class NewMember(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=256)
    roleTypes: list[str] = Field(default_factory=lambda: [Role.WRITE_USER.value], max_length=16)


def _roles(names: list[str]) -> list[Role]:
    if not names:
        raise InvalidArgumentError("At least one role is required.")
    return [parse_role(name) for name in names]


def _authorize_grant(session: Session, principal: Principal, org: Org, team: Team | None, user: User,
                     roles: list[Role], user_is_new: bool) -> None:
    new_to_org = user_is_new or not users.is_member_of(session, user, org)
    for role in roles:
        for action in policy.actions_to_grant(role, team is not None, new_to_org):
            team_id = team.id if team is not None and action is policy.Action.ADD_USER_TO_TEAM else None
            policy.authorize(principal, action, Scope(org_id=org.id, team_id=team_id))


def _add_member(request: Request, session: Session, principal: Principal, org_name: str, team_name: str | None,
                body: NewMember) -> dict:
    org = orgs.get_org(session, org_name)
    team = orgs.get_team(session, org, team_name) if team_name else None
    roles = _roles(body.roleTypes)
    user, created = users.ensure_user(session, body.email, body.name)
    _authorize_grant(session, principal, org, team, user, roles, created)
    users.grant_roles(session, user, org, team, roles, principal.user_id)
    session.refresh(user)
    result = {"user": user_view(user, org.id), "invited": created, "requestStatus": ngc_status()}
    if created:
        result["activationUrl"] = activation_link(request, session, user, org.name)
    return result


@router.post("/v2/org/{org_name}/users")
def add_org_user(org_name: str, body: NewMember, request: Request, session: DB, principal: Caller) -> dict:
    return _add_member(request, session, principal, org_name, None, body)


@router.post("/v2/org/{org_name}/team/{team_name}/users")
def add_team_user(org_name: str, team_name: str, body: NewMember, request: Request, session: DB,
                  principal: Caller) -> dict:
    return _add_member(request, session, principal, org_name, team_name, body)


def _change_roles(session: Session, principal: Principal, org_name: str, team_name: str | None, ident: str,
                  role_names: list[str], add: bool) -> dict:
    org = orgs.get_org(session, org_name)
    team = orgs.get_team(session, org, team_name) if team_name else None
    user = users.find_user(session, ident)
    roles = _roles(role_names)
    _authorize_grant(session, principal, org, team, user, roles, user_is_new=False)
    change = users.grant_roles if add else users.revoke_roles
    change(session, user, org, team, roles, principal.user_id)
    session.refresh(user)
    return {"user": user_view(user, org.id), "requestStatus": ngc_status()}


@router.patch("/v3/orgs/{org_name}/teams/{team_name}/users/{ident}/add-role")
def add_team_role(org_name: str, team_name: str, ident: str, session: DB, principal: Caller,
                  roles: list[str] = Query(default=[])) -> dict:
    return _change_roles(session, principal, org_name, team_name, ident, roles, add=True)


@router.delete("/v3/orgs/{org_name}/teams/{team_name}/users/{ident}/remove-role")
def remove_team_role(org_name: str, team_name: str, ident: str, session: DB, principal: Caller,
                     roles: list[str] = Query(default=[])) -> dict:
    return _change_roles(session, principal, org_name, team_name, ident, roles, add=False)


@router.patch("/v3/orgs/{org_name}/users/{ident}/add-role")
def add_org_role(org_name: str, ident: str, session: DB, principal: Caller,
                 roles: list[str] = Query(default=[])) -> dict:
    return _change_roles(session, principal, org_name, None, ident, roles, add=True)


@router.delete("/v3/orgs/{org_name}/users/{ident}/remove-role")
def remove_org_role(org_name: str, ident: str, session: DB, principal: Caller,
                    roles: list[str] = Query(default=[])) -> dict:
    return _change_roles(session, principal, org_name, None, ident, roles, add=False)


def _remove_member(session: Session, principal: Principal, org_name: str, team_name: str | None,
                   ident: str) -> dict:
    org = orgs.get_org(session, org_name)
    team = orgs.get_team(session, org, team_name) if team_name else None
    user = users.find_user(session, ident)
    held = [grant.role for grant in users.grants_of(session, user.id, org.id)
            if team is None or grant.team_id == team.id]
    if not held:
        raise users.UserNotFoundError(f"User '{ident}' is not a member of {team_name or org_name}.")
    _authorize_grant(session, principal, org, team, user, held, user_is_new=team is None)
    users.remove_member(session, user, org, team, principal.user_id)
    return {"requestStatus": ngc_status()}


@router.delete("/v2/org/{org_name}/users/{ident}")
def remove_org_user(org_name: str, ident: str, session: DB, principal: Caller) -> dict:
    return _remove_member(session, principal, org_name, None, ident)


@router.delete("/v2/org/{org_name}/team/{team_name}/users/{ident}")
def remove_team_user(org_name: str, team_name: str, ident: str, session: DB, principal: Caller) -> dict:
    return _remove_member(session, principal, org_name, team_name, ident)
