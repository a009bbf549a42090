"""Users and the roles they hold on orgs and teams."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from ...errors import AlreadyExistsError, InvalidArgumentError, UserNotFoundError
from ...refs import validate_email
from ..auth.policy import Grant, Role
from ..db.prepared import PreparedRead
from ..db.tables import Org, RoleGrant, Team, User
from . import audit


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id < 2**31 else None  # ids are 32-bit integers: 10**30 is nobody
    if user is None:
        raise UserNotFoundError(f"User '{user_id}' not found.")
    return user


_GRANTS_SHOWN = PreparedRead(  # what a user's view shows of each grant, in one read
    select(RoleGrant.__table__.c.org_id, RoleGrant.__table__.c.team_id, RoleGrant.__table__.c.role,
           Org.__table__.c.name.label("org_name"), Org.__table__.c.display_name.label("org_display_name"),
           Team.__table__.c.name.label("team_name"))
    .join(Org.__table__, Org.__table__.c.id == RoleGrant.__table__.c.org_id)
    .outerjoin(Team.__table__, Team.__table__.c.id == RoleGrant.__table__.c.team_id)
    .where(RoleGrant.__table__.c.user_id == bindparam("user_id")).order_by(RoleGrant.__table__.c.id))


def grants_shown(session: Session, user_id: int) -> list[NamedTuple]:
    """A user's grants with `org_name`, `org_display_name` and `team_name` (`views.roles_view` takes them)."""
    return _GRANTS_SHOWN.all(session, {"user_id": user_id})


def find_user(session: Session, ident: str) -> User:
    """A user by numeric id or by email."""
    if ident.isdigit():
        return get_user(session, int(ident))
    user = session.scalar(select(User).where(User.email == ident.strip().lower()))
    if user is None:
        raise UserNotFoundError(f"User '{ident}' not found.")
    return user


def ensure_user(session: Session, email: str, name: str) -> tuple[User, bool]:
    """The user with this email, created (as an invitation) if new; the flag says whether it was created."""
    email = validate_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    if len(name) > 256:
        raise InvalidArgumentError("User name must be at most 256 characters.")
    user = User(email=email, name=name.strip() or email, starfleet_id=uuid.uuid4().hex)
    session.add(user)
    session.flush()
    return user, True


def _held_roles(session: Session, user: User, org: Org, team: Team | None) -> set[str]:
    team_clause = RoleGrant.team_id.is_(None) if team is None else RoleGrant.team_id == team.id
    query = select(RoleGrant.role).where(RoleGrant.user_id == user.id, RoleGrant.org_id == org.id, team_clause)
    return set(session.scalars(query))


def grant_roles(session: Session, user: User, org: Org, team: Team | None, roles: Iterable[Role],
                actor_id: int | None) -> list[Role]:
    """Give the user these roles on the org (team None) or the team; refuse when they hold them all already."""
    held = _held_roles(session, user, org, team)
    new = [role for role in dict.fromkeys(roles) if role.value not in held]
    where = f"team '{team.name}'" if team else f"org '{org.name}'"
    if not new:
        raise AlreadyExistsError(f"User '{user.email}' already has role(s) {', '.join(roles)} in {where}.")
    for role in new:
        session.add(RoleGrant(user_id=user.id, org_id=org.id, team_id=team.id if team else None, role=role.value))
    session.flush()
    audit.record(session, actor_id, org.id, "role.grant", f"{user.email} {where} {','.join(new)}")
    return new


def revoke_roles(session: Session, user: User, org: Org, team: Team | None, roles: Iterable[Role],
                 actor_id: int | None) -> None:
    team_clause = RoleGrant.team_id.is_(None) if team is None else RoleGrant.team_id == team.id
    rows = session.scalars(select(RoleGrant).where(
        RoleGrant.user_id == user.id, RoleGrant.org_id == org.id, team_clause,
        RoleGrant.role.in_([role.value for role in roles])))
    for row in rows:
        session.delete(row)
    session.flush()
    audit.record(session, actor_id, org.id, "role.revoke", f"{user.email} {','.join(roles)}")


def members(session: Session, org: Org, team: Team | None, page: int, size: int,
            email: str | None = None) -> tuple[list[User], int]:
    """Users holding a role on the org or one of its teams (team None), or on the team; and their total."""
    where = [RoleGrant.org_id == org.id] + ([RoleGrant.team_id == team.id] if team else [])
    ids = select(RoleGrant.user_id).where(*where).distinct()
    base = select(User).where(User.id.in_(ids))
    if email is not None:
        base = base.where(User.email == email)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = base.options(selectinload(User.roles)).order_by(User.id).offset(page * size).limit(size)
    return list(session.scalars(query)), total


def remove_member(session: Session, user: User, org: Org, team: Team | None, actor_id: int | None) -> None:
    """Take every role the user holds on the team, or on the org and all its teams."""
    where = [RoleGrant.user_id == user.id, RoleGrant.org_id == org.id]
    if team is not None:
        where.append(RoleGrant.team_id == team.id)
    for row in session.scalars(select(RoleGrant).where(*where)):
        session.delete(row)
    session.flush()
    audit.record(session, actor_id, org.id, "member.remove", f"{user.email} {team.name if team else org.name}")


def is_member_of(session: Session, user: User, org: Org, team: Team | None = None) -> bool:
    where = [RoleGrant.user_id == user.id, RoleGrant.org_id == org.id]
    if team is not None:
        where.append(RoleGrant.team_id == team.id)
    return session.scalar(select(RoleGrant.id).where(*where).limit(1)) is not None


def grants_of(session: Session, user_id: int, org_id: int | None = None) -> tuple[Grant, ...]:
    query = select(RoleGrant.org_id, RoleGrant.team_id, RoleGrant.role).where(RoleGrant.user_id == user_id)
    if org_id is not None:
        query = query.where(RoleGrant.org_id == org_id)
    return tuple(Grant(org_id=o, team_id=t, role=Role(r)) for o, t, r in session.execute(query))
