"""Administration of teams: list and create them, and manage a team's members and their roles."""

from __future__ import annotations

from fastapi import Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ...errors import InvalidArgumentError
from ..auth import policy
from ..auth.policy import Action, Role, Scope
from ..deps import DB
from ..services import orgs, users
from .ui_admin import ROLE_CHOICES, invite, member_rows
from .ui_base import CurrentVisitor, Visitor, page, redirect, require_user, ui_router

router = ui_router()
TEAM_PAGE_SIZE = 200


@router.get("/admin/{org_name}/teams")
def teams(org_name: str, request: Request, session: DB, visitor: CurrentVisitor) -> Response:
    require_user(visitor)
    org = orgs.get_org(session, org_name)
    policy.authorize(visitor.principal, Action.VIEW_ORG, Scope(org_id=org.id))
    rows = []
    for team in orgs.list_teams(session, org):
        scope = Scope(org_id=org.id, team_id=team.id)
        manage = policy.allows(visitor.principal, Action.LIST_USERS, scope)
        if manage or policy.allows(visitor.principal, Action.VIEW, scope):
            rows.append({"team": team, "manage": manage})
    return page(request, "admin_teams.html", org=org, rows=rows,
                can_create=policy.allows(visitor.principal, Action.ADD_TEAM, Scope(org_id=org.id)))


@router.post("/admin/{org_name}/teams")
def create_team(org_name: str, request: Request, session: DB, visitor: CurrentVisitor, name: str = Form(""),
                description: str = Form("")) -> Response:
    require_user(visitor)
    org = orgs.get_org(session, org_name)
    policy.authorize(visitor.principal, Action.ADD_TEAM, Scope(org_id=org.id))
    if not name.strip():
        raise InvalidArgumentError("A team name is required.")
    team = orgs.create_team(session, org, name, description[:4096], visitor.user_id)
    return redirect(request, f"/admin/{org.name}/teams/{team.name}", f"Team '{team.name}' is created.")


@router.get("/admin/{org_name}/teams/{team_name}")
def team_members(org_name: str, team_name: str, request: Request, session: DB, visitor: CurrentVisitor) -> Response:
    return _team_page(request, session, visitor, org_name, team_name)


def _team_page(request: Request, session: Session, visitor: Visitor, org_name: str, team_name: str,
               **extra) -> Response:
    require_user(visitor)
    org = orgs.get_org(session, org_name)
    team = orgs.get_team(session, org, team_name)
    scope = Scope(org_id=org.id, team_id=team.id)
    policy.authorize(visitor.principal, Action.LIST_USERS, scope)
    members, total = users.members(session, org, team, 0, TEAM_PAGE_SIZE)
    return page(request, "admin_team.html", org=org, team=team, rows=member_rows(org, members), total=total,
                roles=ROLE_CHOICES, can_add=policy.allows(visitor.principal, Action.ADD_USER_TO_TEAM, scope),
                can_invite=policy.allows(visitor.principal, Action.ADD_USER, Scope(org_id=org.id)), **extra)


@router.post("/admin/{org_name}/teams/{team_name}/users")
def add_team_member(org_name: str, team_name: str, request: Request, session: DB, visitor: CurrentVisitor,
                    email: str = Form(""), role: str = Form(Role.WRITE_USER.value)) -> Response:
    require_user(visitor)
    member_email, link = invite(request, session, visitor, org_name, team_name, email, "", role)
    back = f"/admin/{org_name}/teams/{team_name}"
    if link is None:
        return redirect(request, back, f"{member_email} now has {role} in team '{team_name}'.")
    invitation = {"email": member_email, "link": link, "where": f"team '{team_name}'"}
    return _team_page(request, session, visitor, org_name, team_name, invitation=invitation)
