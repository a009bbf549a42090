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
from sqlalchemy.orm import Session

from ...errors import InvalidApiKeyError, UnauthorizedError
from ..db.tables import ApiKey
from ..services import keys, users
from .policy import GUEST, Principal

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


def decode_token(secret: str, token: str) -> dict:
    try:
        return jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "kid", "sub"]})
    except jwt.ExpiredSignatureError:
        raise UnauthorizedError("The token has expired; request a new one.") from None
    except jwt.PyJWTError:
        raise InvalidApiKeyError("Invalid API key or token.") from None


def principal_for_key(session: Session, key: ApiKey, access: list[dict] | None = None) -> Principal:
    """A key's powers: its user's grants, narrowed to the key's org for org-bound (personal) keys."""
    grants = users.grants_of(session, key.user_id, key.org_id)
    actions = None if access is None else frozenset(_flatten_access(access))
    return Principal(user_id=key.user_id, grants=grants, key_kind=key.kind, token_actions=actions)


def _flatten_access(access: list[dict]) -> list[str]:
    return [f"{item.get('name')}:{action}" for item in access for action in item.get("actions", [])]


def authenticate(session: Session, authorization: str | None, secret: str) -> tuple[Principal, ApiKey | None]:
    """The caller behind an Authorization header; GUEST when there is none."""
    if not authorization:
        return GUEST, None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        key = key_from_basic(session, parse_basic(authorization))
        return principal_for_key(session, key), key
    if scheme.lower() != "bearer" or not value:
        raise UnauthorizedError("Unsupported Authorization scheme: use Bearer or Basic.")
    if value.startswith(keys.PERSONAL_PREFIX) or value.startswith(keys.LEGACY_PREFIX):
        key = keys.resolve_key(session, value)
        return principal_for_key(session, key), key
    claims = decode_token(secret, value)
    key = keys.live_key(session, int(claims["kid"]))
    return principal_for_key(session, key, claims.get("access")), key
