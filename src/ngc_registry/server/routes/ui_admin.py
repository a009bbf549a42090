"""Administration of an org: its users (invite, roles, remove), activation links, and the audit of who did what.

Every form goes through the same service as the NGC API (`services.members`), so the same `authorize()` decides.
"""

from __future__ import annotations

import math

from fastapi import Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ...errors import InvalidArgumentError, UserNotFoundError
from ..auth import policy
from ..auth.policy import Action, Role, Scope
from ..db.tables import Org, User
from ..deps import DB
from ..services import audit, members, orgs, users
from .ui_auth import activation_link
from .ui_base import CurrentVisitor, Visitor, page, redirect, require_user, ui_router
from .ui_security import referer_path

router = ui_router()
USERS_PAGE_SIZE, AUDIT_PAGE_SIZE = 25, 50
ROLE_CHOICES = [role.value for role in Role]


def _org_scope(session: Session, visitor: Visitor, org_name: str, action: Action) -> Org:
    require_user(visitor)
    org = orgs.get_org(session, org_name)
    policy.authorize(visitor.principal, action, Scope(org_id=org.id))
    return org


def administered(session: Session, visitor: Visitor) -> list[dict]:
    """The orgs where the visitor administers something: the whole org's users, or some of its teams."""
    found = []
    for org in orgs.list_orgs(session, {grant.org_id for grant in visitor.principal.grants}):
        scope = Scope(org_id=org.id)
        teams = [team for team in orgs.list_teams(session, org) if policy.allows(
            visitor.principal, Action.LIST_USERS, Scope(org_id=org.id, team_id=team.id))]
        entry = {"org": org, "users": policy.allows(visitor.principal, Action.LIST_USERS, scope),
                 "add_team": policy.allows(visitor.principal, Action.ADD_TEAM, scope), "teams": teams}
        if entry["users"] or teams:
            found.append(entry)
    return found


@router.get("/admin")
def admin_home(request: Request, session: DB, visitor: CurrentVisitor) -> Response:
    require_user(visitor)
    places = administered(session, visitor)
    if not places:
        raise policy.ForbiddenError("Your roles do not include administering users or teams.")
    return page(request, "admin_home.html", places=places)


def member_rows(org: Org, members: list[User]) -> list[dict]:
    """Each member with the roles held in this org: org-wide, and per team."""
    rows = []
    for user in members:
        grants = [grant for grant in user.roles if grant.org_id == org.id]
        rows.append({"user": user, "pending": user.password_hash is None,
                     "org_roles": sorted(g.role for g in grants if g.team_id is None),
                     "team_roles": sorted((g.team.name, g.role) for g in grants if g.team_id is not None)})
    return rows


def _users_page(request: Request, session: Session, visitor: Visitor, org: Org, page_number: int,
                status: int = 200, **extra) -> Response:
    members, total = users.members(session, org, None, page_number - 1, USERS_PAGE_SIZE)
    scope = Scope(org_id=org.id)
    return page(request, "admin_users.html", status=status, org=org, rows=member_rows(org, members),
                teams=orgs.list_teams(session, org), roles=ROLE_CHOICES, page_number=page_number,
                pages=max(math.ceil(total / USERS_PAGE_SIZE), 1), total=total,
                can_invite=policy.allows(visitor.principal, Action.ADD_USER, scope), **extra)


@router.get("/admin/{org_name}/users")
def org_users(org_name: str, request: Request, session: DB, visitor: CurrentVisitor,
              page_number: int = Query(1, le=1_000_000)) -> Response:
    org = _org_scope(session, visitor, org_name, Action.LIST_USERS)
    return _users_page(request, session, visitor, org, max(page_number, 1))


def invite(request: Request, session, visitor, org_name: str, team_name: str | None, email: str, name: str,
           role: str) -> tuple[str, str | None]:
    """Add or invite a member as the NGC API does; returns their email and, for a new user, the activation link."""
    if not email.strip():
        raise InvalidArgumentError("An email address is required.")
    user, org, invited = members.add_member(session, visitor.principal, org_name, team_name, email.strip()[:254],
                                            name.strip()[:256], [role])
    return user.email, activation_link(request, session, user, org.name) if invited else None


@router.post("/admin/{org_name}/users")
def invite_user(org_name: str, request: Request, session: DB, visitor: CurrentVisitor, email: str = Form(""),
                name: str = Form(""), role: str = Form(Role.WRITE_USER.value), team: str = Form("")) -> Response:
    require_user(visitor)
    member_email, link = invite(request, session, visitor, org_name, team or None, email, name, role)
    where = f"team '{team}'" if team else f"org '{org_name}'"
    if link is None:
        return redirect(request, f"/admin/{org_name}/users", f"{member_email} now has {role} in {where}.")
    org = orgs.get_org(session, org_name)
    invitation = {"email": member_email, "link": link, "where": where}
    return _users_page(request, session, visitor, org, 1, invitation=invitation)


@router.post("/admin/{org_name}/users/{user_id}/roles")
def add_role(org_name: str, user_id: int, request: Request, session: DB, visitor: CurrentVisitor,
             role: str = Form(""), team: str = Form("")) -> Response:
    require_user(visitor)
    members.change_roles(session, visitor.principal, org_name, team or None, str(user_id), [role], add=True)
    return redirect(request, _back(request, org_name), f"Role {role} added.")


@router.post("/admin/{org_name}/users/{user_id}/roles/remove")
def remove_role(org_name: str, user_id: int, request: Request, session: DB, visitor: CurrentVisitor,
                role: str = Form(""), team: str = Form("")) -> Response:
    require_user(visitor)
    members.change_roles(session, visitor.principal, org_name, team or None, str(user_id), [role], add=False)
    return redirect(request, _back(request, org_name), f"Role {role} removed.")


@router.post("/admin/{org_name}/users/{user_id}/remove")
def remove_user(org_name: str, user_id: int, request: Request, session: DB, visitor: CurrentVisitor,
                team: str = Form("")) -> Response:
    require_user(visitor)
    email = users.get_user(session, user_id).email
    members.remove_member(session, visitor.principal, org_name, team or None, str(user_id))
    where = f"team '{team}'" if team else f"org '{org_name}'"
    return redirect(request, _back(request, org_name), f"{email} was removed from {where}.")


def _back(request: Request, org_name: str) -> str:
    """The page the form was on (the org's users, or a team's members)."""
    return referer_path(request, f"/admin/{org_name}/users")


@router.post("/admin/{org_name}/users/{user_id}/activation")
def new_activation_link(org_name: str, user_id: int, request: Request, session: DB,
                        visitor: CurrentVisitor) -> Response:
    org = _org_scope(session, visitor, org_name, Action.ADD_USER)
    user = users.get_user(session, user_id)
    if not users.is_member_of(session, user, org):
        raise UserNotFoundError(f"User '{user_id}' is not a member of {org.name}.")
    if user.password_hash is not None:
        raise InvalidArgumentError(f"{user.email} has already set a password.")
    invitation = {"email": user.email, "link": activation_link(request, session, user, org.name),
                  "where": f"org '{org.name}'"}
    return _users_page(request, session, visitor, org, 1, invitation=invitation)


@router.get("/admin/{org_name}/audit")
def audit_log(org_name: str, request: Request, session: DB, visitor: CurrentVisitor,
              page_number: int = Query(1, le=1_000_000)) -> Response:
    org = _org_scope(session, visitor, org_name, Action.VIEW_AUDIT)
    page_number = max(page_number, 1)
    events, total = audit.events(session, org.id, page_number - 1, AUDIT_PAGE_SIZE)
    return page(request, "admin_audit.html", org=org, events=events, page_number=page_number,
                pages=max(math.ceil(total / AUDIT_PAGE_SIZE), 1), total=total)

