"""Every cell of the guide's role table (§3.2), plus REGISTRY_READ, checked against the one policy."""

from __future__ import annotations

import pytest

from ngc_registry.errors import ForbiddenError, RoleNotFoundError, UnauthorizedError
from ngc_registry.server.auth.policy import (GUEST, Action, Grant, Principal, Role, Scope, allows, authorize,
                                             parse_role)

ORG, TEAM, OTHER_TEAM, ME, SOMEONE = 1, 10, 11, 100, 200
ADMIN, TEAM_ADMIN, USER, READ = Role.WRITE_ADMIN, Role.WRITE_TEAM_ADMIN, Role.WRITE_USER, Role.READ

# capability: (team admin, org admin, user, read)  — the guide's columns, then REGISTRY_READ
GUIDE_TABLE = {
    Action.ADD_TEAM: (False, True, False, False),
    Action.ADD_USER: (False, True, False, False),
    Action.ADD_USER_TO_TEAM: (True, True, False, False),
    Action.DELETE_IMAGE: (True, True, True, False),
    Action.VIEW: (True, True, True, True),
    Action.CREATE: (True, True, True, False),
    Action.DOWNLOAD: (True, True, True, True),
    Action.DELETE_MODEL: (True, True, "own", False),
}


def _principal(role: Role) -> Principal:
    # The team admin holds the role on TEAM; everyone else on the org.
    team = TEAM if role is TEAM_ADMIN else None
    return Principal(user_id=ME, grants=(Grant(org_id=ORG, team_id=team, role=role),))


def _scope(action: Action, creator: int | None = None) -> Scope:
    org_level = action in (Action.ADD_TEAM, Action.ADD_USER)
    return Scope(org_id=ORG, team_id=None if org_level else TEAM, creator_id=creator)


@pytest.mark.parametrize("action", list(GUIDE_TABLE))
@pytest.mark.parametrize("column,role", list(enumerate([TEAM_ADMIN, ADMIN, USER, READ])))
def test_guide_table_cell(action, column, role):
    expected = GUIDE_TABLE[action][column]
    principal = _principal(role)
    if expected == "own":
        assert allows(principal, action, _scope(action, creator=ME))
        assert not allows(principal, action, _scope(action, creator=SOMEONE))
    else:
        assert allows(principal, action, _scope(action, creator=SOMEONE)) is expected


@pytest.mark.parametrize("action", [Action.VIEW, Action.CREATE, Action.ADD_USER_TO_TEAM, Action.DELETE_MODEL])
def test_team_role_does_not_reach_another_team_or_the_org_space(action):
    principal = _principal(TEAM_ADMIN)
    assert not allows(principal, action, Scope(org_id=ORG, team_id=OTHER_TEAM))
    assert not allows(principal, action, Scope(org_id=ORG, team_id=None))


def test_org_role_covers_every_team():
    assert allows(_principal(USER), Action.CREATE, Scope(org_id=ORG, team_id=OTHER_TEAM))


def test_nothing_crosses_orgs():
    assert not allows(_principal(ADMIN), Action.VIEW, Scope(org_id=ORG + 1))


def test_team_member_may_view_the_org_itself():
    assert allows(_principal(TEAM_ADMIN), Action.VIEW_ORG, Scope(org_id=ORG))


def test_public_content_is_viewable_and_downloadable_by_guests_only():
    public = Scope(org_id=ORG, team_id=TEAM, public=True)
    assert allows(GUEST, Action.VIEW, public) and allows(GUEST, Action.DOWNLOAD, public)
    assert not allows(GUEST, Action.CREATE, public)


def test_authorize_says_401_to_guests_and_403_to_users():
    with pytest.raises(UnauthorizedError):
        authorize(GUEST, Action.VIEW, Scope(org_id=ORG))
    with pytest.raises(ForbiddenError):
        authorize(_principal(READ), Action.CREATE, Scope(org_id=ORG))


@pytest.mark.parametrize("name,role", [
    ("REGISTRY_WRITE_ADMIN_ROLE", ADMIN), ("REGISTRY_ADMIN", ADMIN), ("registry_write_team_admin_role", TEAM_ADMIN),
    ("REGISTRY_USER", USER), ("REGISTRY_WRITE_USER_ROLE", USER), ("REGISTRY_READ", READ),
    ("USER_ADMIN", Role.USER_ADMIN)])
def test_role_aliases(name, role):
    assert parse_role(name) is role


def test_unknown_role():
    with pytest.raises(RoleNotFoundError, match="REGISTRY_GOD"):
        parse_role("REGISTRY_GOD")
