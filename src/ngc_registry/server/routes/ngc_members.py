"""Adding users to orgs and teams, and changing their roles (v2 invitations, v3 add-role/remove-role)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..auth.policy import Principal, Role
from ..deps import DB, Caller, PlainRoute
from ..rendering import ngc_status
from ..services import members
from .ui_auth import activation_link
from .views import user_view

router = APIRouter(route_class=PlainRoute)


class NewMember(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=256)
    roleTypes: list[str] = Field(default_factory=lambda: [Role.WRITE_USER.value], max_length=16)


def _add(request: Request, session: Session, principal: Principal, org_name: str, team_name: str | None,
         body: NewMember) -> dict:
    user, org, invited = members.add_member(session, principal, org_name, team_name, body.email, body.name,
                                            body.roleTypes)
    result = {"user": user_view(user, org.id), "invited": invited, "requestStatus": ngc_status()}
    if invited:
        result["activationUrl"] = activation_link(request, session, user, org.name)
    return result


@router.post("/v2/org/{org_name}/users")
def add_org_user(org_name: str, body: NewMember, request: Request, session: DB, principal: Caller) -> dict:
    return _add(request, session, principal, org_name, None, body)


@router.post("/v2/org/{org_name}/team/{team_name}/users")
def add_team_user(org_name: str, team_name: str, body: NewMember, request: Request, session: DB,
                  principal: Caller) -> dict:
    return _add(request, session, principal, org_name, team_name, body)


def _change(session: Session, principal: Principal, org_name: str, team_name: str | None, ident: str,
            roles: list[str], add: bool) -> dict:
    user, org = members.change_roles(session, principal, org_name, team_name, ident, roles, add)
    return {"user": user_view(user, org.id), "requestStatus": ngc_status()}


@router.patch("/v3/orgs/{org_name}/teams/{team_name}/users/{ident}/add-role")
def add_team_role(org_name: str, team_name: str, ident: str, session: DB, principal: Caller,
                  roles: list[str] = Query(default=[])) -> dict:
    return _change(session, principal, org_name, team_name, ident, roles, add=True)


@router.delete("/v3/orgs/{org_name}/teams/{team_name}/users/{ident}/remove-role")
def remove_team_role(org_name: str, team_name: str, ident: str, session: DB, principal: Caller,
                     roles: list[str] = Query(default=[])) -> dict:
    return _change(session, principal, org_name, team_name, ident, roles, add=False)


@router.patch("/v3/orgs/{org_name}/users/{ident}/add-role")
def add_org_role(org_name: str, ident: str, session: DB, principal: Caller,
                 roles: list[str] = Query(default=[])) -> dict:
    return _change(session, principal, org_name, None, ident, roles, add=True)


@router.delete("/v3/orgs/{org_name}/users/{ident}/remove-role")
def remove_org_role(org_name: str, ident: str, session: DB, principal: Caller,
                    roles: list[str] = Query(default=[])) -> dict:
    return _change(session, principal, org_name, None, ident, roles, add=False)


@router.delete("/v2/org/{org_name}/users/{ident}")
def remove_org_user(org_name: str, ident: str, session: DB, principal: Caller) -> dict:
    members.remove_member(session, principal, org_name, None, ident)
    return {"requestStatus": ngc_status()}


@router.delete("/v2/org/{org_name}/team/{team_name}/users/{ident}")
def remove_team_user(org_name: str, team_name: str, ident: str, session: DB, principal: Caller) -> dict:
    members.remove_member(session, principal, org_name, team_name, ident)
    return {"requestStatus": ngc_status()}
