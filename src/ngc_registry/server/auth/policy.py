"""Roles, actions and the one permission check. No other code compares role names.

The table is the user guide's (section 3.2) plus REGISTRY_READ (view and download only, for CI keys) and USER_ADMIN.
An org-level grant covers the org and all its teams; a team grant covers that team's space only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ...errors import ForbiddenError, RoleNotFoundError, UnauthorizedError


class Role(StrEnum):
    WRITE_ADMIN = "REGISTRY_WRITE_ADMIN"
    WRITE_TEAM_ADMIN = "REGISTRY_WRITE_TEAM_ADMIN"
    WRITE_USER = "REGISTRY_WRITE_USER_ROLE"
    READ = "REGISTRY_READ"
    USER_ADMIN = "USER_ADMIN"


# Names clients may send for a role: the guide's `_ROLE` spellings and the modern NGC names.
ROLE_ALIASES: dict[str, Role] = {
    "REGISTRY_WRITE_ADMIN_ROLE": Role.WRITE_ADMIN,
    "REGISTRY_ADMIN": Role.WRITE_ADMIN,
    "REGISTRY_WRITE_TEAM_ADMIN_ROLE": Role.WRITE_TEAM_ADMIN,
    "REGISTRY_TEAM_ADMIN": Role.WRITE_TEAM_ADMIN,
    "REGISTRY_WRITE_USER": Role.WRITE_USER,
    "REGISTRY_USER": Role.WRITE_USER,
    "REGISTRY_READ_ROLE": Role.READ,
    "USER_ADMIN_ROLE": Role.USER_ADMIN,
}


def parse_role(name: str) -> Role:
    text = name.strip().upper()
    try:
        return ROLE_ALIASES.get(text) or Role(text)
    except ValueError:
        known = ", ".join(sorted([r.value for r in Role] + list(ROLE_ALIASES)))
        raise RoleNotFoundError(f"Role '{name}' does not exist. Known roles: {known}.") from None


class Action(StrEnum):
    VIEW_ORG = "view org"
    LIST_USERS = "list users"
    ADD_TEAM = "add teams"
    ADD_USER = "add new users"
    ADD_USER_TO_TEAM = "add users to teams"
    DELETE_IMAGE = "delete images"
    VIEW = "view image, model and model-script information"
    CREATE = "create and upload"
    DOWNLOAD = "download models and model-scripts"
    DELETE_MODEL = "delete models"
    GRANT_ADMIN_ROLES = "grant admin roles"
    PUBLISH = "make content public"
    VIEW_AUDIT = "view the audit log"


class Reach(StrEnum):
    ALL = "all"
    OWN = "own"  # only what the principal created


_ADMIN, _TEAM_ADMIN, _USER, _READ = Role.WRITE_ADMIN, Role.WRITE_TEAM_ADMIN, Role.WRITE_USER, Role.READ
_EVERY_WRITER = {_ADMIN: Reach.ALL, _TEAM_ADMIN: Reach.ALL, _USER: Reach.ALL}

POLICY: dict[Action, dict[Role, Reach]] = {
    Action.VIEW_ORG: {**_EVERY_WRITER, _READ: Reach.ALL, Role.USER_ADMIN: Reach.ALL},
    Action.LIST_USERS: {_ADMIN: Reach.ALL, _TEAM_ADMIN: Reach.ALL, Role.USER_ADMIN: Reach.ALL},
    Action.ADD_TEAM: {_ADMIN: Reach.ALL},
    Action.ADD_USER: {_ADMIN: Reach.ALL, Role.USER_ADMIN: Reach.ALL},
    Action.ADD_USER_TO_TEAM: {_ADMIN: Reach.ALL, _TEAM_ADMIN: Reach.ALL, Role.USER_ADMIN: Reach.ALL},
    Action.DELETE_IMAGE: dict(_EVERY_WRITER),
    Action.VIEW: {**_EVERY_WRITER, _READ: Reach.ALL},
    Action.CREATE: dict(_EVERY_WRITER),
    Action.DOWNLOAD: {**_EVERY_WRITER, _READ: Reach.ALL},
    Action.DELETE_MODEL: {_ADMIN: Reach.ALL, _TEAM_ADMIN: Reach.ALL, _USER: Reach.OWN},
    Action.GRANT_ADMIN_ROLES: {_ADMIN: Reach.ALL},
    Action.PUBLISH: {_ADMIN: Reach.ALL},
    Action.VIEW_AUDIT: {_ADMIN: Reach.ALL},  # it names everything changed in the org
}

# Actions where a role on any team of the org is enough at org level (seeing the org you belong to).
_ANY_MEMBER_ACTIONS = frozenset({Action.VIEW_ORG})
# Actions anyone, guests included, may take on public content.
_PUBLIC_ACTIONS = frozenset({Action.VIEW, Action.DOWNLOAD})


@dataclass(frozen=True)
class Grant:
    org_id: int
    team_id: int | None
    role: Role


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user with the grants their credential carries, or a guest (user_id None)."""

    user_id: int | None
    grants: tuple[Grant, ...] = ()
    key_kind: str = ""
    token_actions: frozenset[str] | None = field(default=None)

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


GUEST = Principal(user_id=None)


@dataclass(frozen=True)
class Scope:
    """Where an action happens: an org, optionally one of its teams, and facts about the object acted on."""

    org_id: int
    team_id: int | None = None
    creator_id: int | None = None
    public: bool = False


def _grant_covers(grant: Grant, action: Action, scope: Scope) -> bool:
    if grant.org_id != scope.org_id:
        return False
    if grant.team_id is None or grant.team_id == scope.team_id:
        return True
    return scope.team_id is None and action in _ANY_MEMBER_ACTIONS


def allows(principal: Principal, action: Action, scope: Scope) -> bool:
    if scope.public and action in _PUBLIC_ACTIONS:
        return True
    cells = POLICY[action]
    for grant in principal.grants:
        reach = cells.get(grant.role)
        if reach is None or not _grant_covers(grant, action, scope):
            continue
        if reach is Reach.ALL or (scope.creator_id is not None and scope.creator_id == principal.user_id):
            return True
    return False


def authorize(principal: Principal, action: Action, scope: Scope) -> None:
    """The only permission check: raise unless the principal's roles allow `action` in `scope`."""
    if allows(principal, action, scope):
        return
    if principal.is_guest:
        raise UnauthorizedError("Authentication required: this content is not public. Provide an API key.")
    raise ForbiddenError(f"Access denied: your role does not allow you to {action.value} here.")


def spaces_allowing(principal: Principal, action: Action) -> tuple[set[int], set[int]]:
    """Orgs (whole) and teams where `action` is allowed on everything: the same rule as `allows`, for SQL filters."""
    org_ids, team_ids = set(), set()
    for grant in principal.grants:
        if POLICY[action].get(grant.role) is Reach.ALL:
            (org_ids if grant.team_id is None else team_ids).add(grant.org_id if grant.team_id is None
                                                                 else grant.team_id)
    return org_ids, team_ids


def actions_to_grant(role: Role, to_team: bool, new_to_org: bool) -> list[Action]:
    """What a caller must be allowed in order to give `role` to a user (no one grants more than they hold)."""
    needed = [Action.ADD_USER if new_to_org or not to_team else Action.ADD_USER_TO_TEAM]
    if role in (Role.WRITE_ADMIN, Role.USER_ADMIN):
        needed.append(Action.GRANT_ADMIN_ROLES)
    return needed


def is_member(principal: Principal, org_id: int) -> bool:
    return any(grant.org_id == org_id for grant in principal.grants)


def services_of(role: Role) -> list[str]:
    """The NGC service names a role opens in the official client's command map (`GET /roles`)."""
    services = {"CONTAINER", "MODEL", "MODELSCRIPT", "RESOURCE", "ORG", "TEAM", "USER"}
    if role is Role.USER_ADMIN:
        services = {"ORG", "TEAM", "USER"}
    return sorted(services)
