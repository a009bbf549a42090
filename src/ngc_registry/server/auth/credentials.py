"""From an HTTP Authorization header to a Principal: API keys, bearer tokens, Basic `$oauthtoken:<key>`.

Bearer tokens are JWTs signed with the server's secret (kept in the database so every replica shares it). A token
names the key it was issued from, and that key is looked up on every request, so rotating or revoking a key ends
its tokens at once.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from dataclasses import dataclass

import jwt
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ...errors import InvalidApiKeyError, UnauthorizedError
from ..db.prepared import PreparedRead
from ..db.tables import ApiKey, RoleGrant, User
from ..services import keys, users
from .policy import GUEST, Grant, Principal, Role

_ALGORITHM = "HS256"
OAUTH_USER = "$oauthtoken"


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str


def parse_basic(header: str) -> BasicCredentials:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode()
    except (IndexError, binascii.Error, UnicodeDecodeError):
        raise UnauthorizedError("Malformed Basic credentials.") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise UnauthorizedError("Malformed Basic credentials.")
    return BasicCredentials(username, password)


def key_from_basic(session: Session, creds: BasicCredentials) -> ApiKey:
    """`$oauthtoken:<key>`, or `<email>:<key>` where the key must belong to that user."""
    row = keys.resolve_key(session, creds.password)
    if creds.username != OAUTH_USER and creds.username.strip().lower() != row.user.email:
        raise InvalidApiKeyError("Invalid API key")
    return row


def issue_token(secret: str, key: ApiKey, ttl: int, scopes: list[str], access: list[dict] | None = None) -> str:
    now = int(time.time())
    claims = {"sub": str(key.user_id), "kid": key.id, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex,
              "scope": scopes}
    if access is not None:
        claims["access"] = access
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


_DECODED: dict[tuple[str, str], dict] = {}  # verified tokens: a client sends the same one on every request
_DECODED_MAX = 4096


def decode_token(secret: str, token: str) -> dict:
    claims = _DECODED.get((secret, token))
    if claims is not None and claims["exp"] > time.time():
        return claims
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "kid", "sub"]})
    except jwt.ExpiredSignatureError:
        raise UnauthorizedError("The token has expired; request a new one.") from None
    except jwt.PyJWTError:
        raise InvalidApiKeyError("Invalid API key or token.") from None
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.clear()
    _DECODED[(secret, token)] = claims
    return claims


_CALLER_OF_KEY = PreparedRead(  # built once: building it costs more than running it
    select(ApiKey.user_id, ApiKey.kind, ApiKey.revoked_at, ApiKey.expires_at, User.is_active,
           RoleGrant.org_id, RoleGrant.team_id, RoleGrant.role)
    .join(User, User.id == ApiKey.user_id)
    .outerjoin(RoleGrant, and_(RoleGrant.user_id == ApiKey.user_id,
                               or_(ApiKey.org_id.is_(None), RoleGrant.org_id == ApiKey.org_id)))
    .where(ApiKey.id == bindparam("key_id")))


def principal_for_token(session: Session, claims: dict) -> Principal:
    """A token's caller in one query: its key (still usable?), the key's user (active?) and that user's grants
    (narrowed to the key's org for org-bound keys). The key is read on every request, so revoking it ends its
    tokens at once; this is `live_key` + `principal_for_key` without loading ORM objects."""
    rows = _CALLER_OF_KEY.all(session, {"key_id": int(claims["kid"])})
    if not rows or not keys.usable(rows[0].revoked_at, rows[0].expires_at, rows[0].is_active):
        raise InvalidApiKeyError("Invalid API key: the key this token was issued for is no longer valid.")
    grants = tuple(Grant(org_id=r.org_id, team_id=r.team_id, role=Role(r.role)) for r in rows if r.role is not None)
    access = claims.get("access")
    actions = None if access is None else frozenset(_flatten_access(access))
    return Principal(user_id=rows[0].user_id, grants=grants, key_kind=rows[0].kind, token_actions=actions)


def principal_for_key(session: Session, key: ApiKey, access: list[dict] | None = None) -> Principal:
    """A key's powers: its user's grants, narrowed to the key's org for org-bound (personal) keys."""
    grants = users.grants_of(session, key.user_id, key.org_id)
    actions = None if access is None else frozenset(_flatten_access(access))
    return Principal(user_id=key.user_id, grants=grants, key_kind=key.kind, token_actions=actions)


def _flatten_access(access: list[dict]) -> list[str]:
    return [f"{item.get('name')}:{action}" for item in access for action in item.get("actions", [])]


def authenticate(session: Session, authorization: str | None, secret: str) -> tuple[Principal, ApiKey | None]:
    """The caller behind an Authorization header (GUEST when there is none), and the API key row when the header
    carried a key rather than a token."""
    if not authorization:
        return GUEST, None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        key = key_from_basic(session, parse_basic(authorization))
        return principal_for_key(session, key), key
    if scheme.lower() != "bearer" or not value:
        raise UnauthorizedError("Unsupported Authorization scheme: use Bearer or Basic.")
    if value.startswith((keys.PERSONAL_PREFIX, keys.LEGACY_PREFIX)):
        key = keys.resolve_key(session, value)
        return principal_for_key(session, key), key
    return principal_for_token(session, decode_token(secret, value)), None
