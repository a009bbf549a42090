"""Membership changes with their permission checks: who may add whom, with which roles, where."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ...errors import InvalidArgumentError, UserNotFoundError
from ..auth import policy
from ..auth.policy import Principal, Role, Scope, parse_role
from ..db.tables import Org, Team, User
from . import orgs, users


def parse_roles(names: list[str]) -> list[Role]:
    if not names:
        raise InvalidArgumentError("At least one role is required.")
    return [parse_role(name) for name in names]


def _place(session: Session, org_name: str, team_name: str | None) -> tuple[Org, Team | None]:
    org = orgs.get_org(session, org_name)
    return org, orgs.get_team(session, org, team_name) if team_name else None


def _authorize_grant(session: Session, principal: Principal, org: Org, team: Team | None, user: User,
                     roles: list[Role], user_is_new: bool) -> None:
    new_to_org = user_is_new or not users.is_member_of(session, user, org)
    for role in roles:
        for action in policy.actions_to_grant(role, team is not None, new_to_org):
            team_id = team.id if team is not None and action is policy.Action.ADD_USER_TO_TEAM else None
            policy.authorize(principal, action, Scope(org_id=org.id, team_id=team_id))


def add_member(session: Session, principal: Principal, org_name: str, team_name: str | None, email: str,
               name: str, role_names: list[str]) -> tuple[User, Org, bool]:
    """Give a user (invited when new) roles on an org or team; returns the user, the org and whether invited."""
    org, team = _place(session, org_name, team_name)
    roles = parse_roles(role_names)
    user, created = users.ensure_user(session, email, name)
    _authorize_grant(session, principal, org, team, user, roles, created)
    users.grant_roles(session, user, org, team, roles, principal.user_id)
    session.refresh(user)
    return user, org, created


def change_roles(session: Session, principal: Principal, org_name: str, team_name: str | None, ident: str,
                 role_names: list[str], add: bool) -> tuple[User, Org]:
    org, team = _place(session, org_name, team_name)
    user = users.find_user(session, ident)
    roles = parse_roles(role_names)
    _authorize_grant(session, principal, org, team, user, roles, user_is_new=False)
    change = users.grant_roles if add else users.revoke_roles
    change(session, user, org, team, roles, principal.user_id)
    session.refresh(user)
    return user, org


def remove_member(session: Session, principal: Principal, org_name: str, team_name: str | None, ident: str) -> None:
    """Take every role the user holds on the team, or on the org and all its teams."""
    org, team = _place(session, org_name, team_name)
    user = users.find_user(session, ident)
    held = [grant.role for grant in users.grants_of(session, user.id, org.id)
            if team is None or grant.team_id == team.id]
    if not held:
        raise UserNotFoundError(f"User '{ident}' is not a member of {team_name or org_name}.")
    _authorize_grant(session, principal, org, team, user, held, user_is_new=team is None)
    users.remove_member(session, user, org, team, principal.user_id)
