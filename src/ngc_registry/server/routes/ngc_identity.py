"""Identity: /token, caller info, the current user, roles, products, personal keys and the health check."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Form, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import text

from ... import __version__
from ...errors import InvalidApiKeyError, UnauthorizedError
from ..auth import credentials, policy
from ..auth.policy import ROLE_ALIASES, Role
from ..deps import DB, Caller, PlainRoute, reads_only, write_after_reads
from ..rendering import ngc_status
from ..services import audit, images_auth, keys, orgs, ratelimit, users
from .views import key_view, user_view

router = APIRouter(route_class=PlainRoute)


def _ok(**body) -> dict:
    return {**body, "requestStatus": ngc_status()}


def _require_user(principal: policy.Principal) -> int:
    if principal.is_guest:
        raise UnauthorizedError("Authentication required: provide an API key.")
    return principal.user_id


def _failure_limit(request: Request) -> ratelimit.FailureLimit:
    settings = request.app.state.settings
    return ratelimit.FailureLimit("token", settings.token_max_failures, settings.token_client_max_failures,
                                  settings.token_window_seconds)


def _guarded(request: Request, session, account: str | None, resolve):
    """`resolve()` a credential, unless this client or account has failed too often lately (429); count failures."""
    limit, client = _failure_limit(request), request.client.host if request.client else "-"
    ratelimit.check(session, limit, client, account)
    try:
        return resolve()
    except UnauthorizedError:
        write_after_reads(functools.partial(ratelimit.record_failure, request.app.state.sessions, limit, client,
                                            account))
        raise


@router.get("/token")
def token(request: Request, session: DB, scope: list[str] = Query(default=[]), service: str = "ngc") -> dict:
    """Exchange Basic `$oauthtoken:<API key>` for a bearer token (NGC and docker clients alike)."""
    header = request.headers.get("authorization", "")
    secret, ttl = request.app.state.token_secret, request.app.state.settings.token_ttl_seconds
    if not header.lower().startswith("basic "):
        if not images_auth.wants_docker_access(scope):
            raise InvalidApiKeyError("Invalid API key: send Basic credentials '$oauthtoken:<API key>'.")
        signed = images_auth.issue_anonymous_token(session, secret, ttl, scope)  # docker clients' anonymous pull
        return {"token": signed, "access_token": signed, "expires_in": ttl}
    basic = _guarded(request, session, None, lambda: credentials.parse_basic(header))
    account = basic.username if basic.username != credentials.OAUTH_USER else None
    key = _guarded(request, session, account, lambda: credentials.key_from_basic(session, basic))
    access = images_auth.docker_access(session, credentials.principal_for_key(session, key), scope)
    signed = credentials.issue_token(secret, key, ttl, scope, access)
    return {"token": signed, "access_token": signed, "expires_in": ttl}


@router.post("/v3/keys/get-caller-info")
@reads_only
def caller_info(request: Request, session: DB, credentials_: str = Form(default="", alias="credentials")) -> dict:
    """Who a key belongs to; the official client calls this unauthenticated, often, for every `nvapi-` key."""
    holder = _guarded(request, session, None, lambda: keys.key_holder(session, credentials_))
    grants = users.grants_shown(session, holder.id)
    org_name = holder.key_org_name or (grants[0].org_name if grants else None)
    kind = holder.kind if holder.kind != keys.LEGACY else "API_KEY"
    return _ok(type=kind, orgName=org_name, user=user_view(holder, holder.org_id, grants), keyName=holder.key_name)


@router.get("/v2/users/me")
def users_me(session: DB, principal: Caller,
             org_name: str | None = Query(default=None, alias="org-name")) -> dict:
    user = users.get_user(session, _require_user(principal))
    org_id = orgs.get_org(session, org_name).id if org_name else None
    return _ok(user=user_view(user, org_id, users.grants_shown(session, user.id)))


@router.get("/roles")
def roles(show_hidden: bool = Query(default=False, alias="show-hidden")) -> dict:
    names = {role.value: role for role in Role} | dict(ROLE_ALIASES)
    return _ok(roles=[{"name": name, "displayName": name.replace("_", " ").title(),
                       "allowedActions": [{"service": s} for s in policy.services_of(role)]}
                      for name, role in sorted(names.items())])


@router.get("/v2/products")
def products() -> dict:
    return _ok(products=[{"name": "ngc-registry", "displayName": "NGC Registry"}])


@router.get("/health")
def health(request: Request, session: DB) -> dict:
    session.execute(text("SELECT 1"))
    client = request.client.host if request.client else None
    return {"status": "ok", "version": __version__, "clientAddress": client}


class NewKeyBody(BaseModel):
    name: str = Field(max_length=128)
    expiryDays: int = 90
    org: str | None = None


@router.post("/v3/keys")
def create_key(request: Request, body: NewKeyBody, session: DB, principal: Caller) -> dict:
    user = users.get_user(session, _require_user(principal))
    org_name = body.org or request.headers.get("nv-ngc-org") or (user.roles[0].org.name if user.roles else "")
    org = orgs.get_org(session, org_name)
    policy.authorize(principal, policy.Action.VIEW_ORG, policy.Scope(org_id=org.id))
    new = keys.create_personal_key(session, user, org, body.name, body.expiryDays)
    audit.record(session, user.id, org.id, "personal_key.create", f"{user.email} {new.row.name}")
    return _ok(key=key_view(new.row, new.secret))


@router.get("/v3/keys")
def list_keys(session: DB, principal: Caller) -> dict:
    user = users.get_user(session, _require_user(principal))
    return _ok(keys=[key_view(row) for row in keys.list_personal_keys(session, user)])


@router.delete("/v3/keys/{key_id}")
def revoke_key(session: DB, principal: Caller, key_id: int = Path(ge=1, le=2**31 - 1)) -> dict:
    user = users.get_user(session, _require_user(principal))
    row = keys.revoke_personal_key(session, user, key_id)
    audit.record(session, user.id, row.org_id, "personal_key.revoke", f"{user.email} {row.name}")
    return _ok(key=key_view(row))
