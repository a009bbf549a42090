"""Docker-style token auth for the OCI API: `/token?scope=repository:<name>:pull,push` and anonymous tokens.

A token's `access` claim lists only what was granted when it was issued; `images.authorize` then also requires the
action to be in it. Docker clients fetch a token even without credentials (anonymous pull of public content): those
tokens carry `anon: true` and no key, and stand for a guest with the granted actions.
"""

from __future__ import annotations

import time
import uuid

import jwt
from sqlalchemy.orm import Session

from ...errors import NameInvalidError, NameUnknownError
from ..auth import credentials
from ..auth.policy import GUEST, Action, Principal
from . import images

_ALGORITHM = "HS256"
_POLICY_ACTION = {"pull": Action.DOWNLOAD, "push": Action.CREATE, "delete": Action.DELETE_IMAGE}


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """`repository:org/team/img:pull,push` or `registry:catalog:*` as (type, name, actions); None for NGC scopes."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    kind = kind.split("(", 1)[0]  # `repository(plugin)` is a docker class annotation
    if kind not in ("repository", "registry") or not name:
        return None
    return kind, name, [a for a in actions.split(",") if a]


def wants_docker_access(scopes: list[str]) -> bool:
    return any(parse_scope(scope) for scope in scopes)


def _granted_on_repository(session: Session, principal: Principal, name: str, asked: list[str]) -> list[str]:
    try:
        space = images.locate(session, name)
    except (NameInvalidError, NameUnknownError):
        return []
    wanted = set(_POLICY_ACTION) if "*" in asked else set(asked) & set(_POLICY_ACTION)
    unscoped = Principal(user_id=principal.user_id, grants=principal.grants, key_kind=principal.key_kind)
    return sorted(a for a in wanted if images.allows(unscoped, space, _POLICY_ACTION[a]))


def docker_access(session: Session, principal: Principal, scopes: list[str]) -> list[dict] | None:
    """The `access` claim for a token: each requested scope with only the actions the caller is allowed."""
    requested = [parsed for scope in scopes if (parsed := parse_scope(scope))]
    if not requested:
        return None
    access = []
    for kind, name, asked in requested:
        if kind == "registry":
            granted = ["*"] if name == "catalog" and not principal.is_guest else []
        else:
            granted = _granted_on_repository(session, principal, name, asked)
        access.append({"type": kind, "name": name, "actions": granted})
    return access


def issue_anonymous_token(session: Session, secret: str, ttl: int, scopes: list[str]) -> str:
    now = int(time.time())
    claims = {"sub": "anonymous", "anon": True, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex,
              "access": docker_access(session, GUEST, scopes) or []}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def _anonymous_claims(authorization: str | None, secret: str) -> dict | None:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or value.count(".") != 2:
        return None
    try:
        claims = jwt.decode(value.strip(), secret, algorithms=[_ALGORITHM], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("anon") is True else None


def authenticate(session: Session, authorization: str | None, secret: str) -> Principal:
    """The caller of an OCI request: anonymous-token guests here, everything else as on the NGC API."""
    claims = _anonymous_claims(authorization, secret)
    if claims is not None:
        granted = {f"{item.get('name')}:{a}" for item in claims.get("access", []) for a in item.get("actions", [])}
        return Principal(user_id=None, token_actions=frozenset(granted))
    return credentials.authenticate(session, authorization, secret)[0]
