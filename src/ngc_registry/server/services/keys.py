"""API keys: the user's one legacy key (rotated, never two at once) and personal `nvapi-` keys.

Keys are random, prefixed, shown once, stored as a SHA-256 hash (they carry 256+ bits of entropy, so a fast hash
is the right one) and found by that hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from ...errors import InvalidApiKeyError, InvalidArgumentError, KeyNotFoundError
from ..db.prepared import PreparedRead
from ..db.tables import ApiKey, Org, User, utcnow

LEGACY = "LEGACY"
PERSONAL = "PERSONAL_KEY"
SERVICE = "SERVICE_KEY"
LEGACY_PREFIX = "ngcr_"
PERSONAL_PREFIX = "nvapi-"
MAX_EXPIRY_DAYS = 3650


@dataclass(frozen=True)
class NewKey:
    row: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _store(session: Session, user: User, kind: str, secret: str, **fields) -> NewKey:
    row = ApiKey(user_id=user.id, kind=kind, key_hash=hash_key(secret), last_chars=secret[-4:], **fields)
    session.add(row)
    session.flush()
    return NewKey(row=row, secret=secret)


def rotate_legacy_key(session: Session, user: User) -> NewKey:
    """Issue a new legacy API key; the previous one stops working at once (the guide's 'Generate API Key')."""
    now = utcnow()
    session.execute(update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.kind == LEGACY,
                                         ApiKey.revoked_at.is_(None)).values(revoked_at=now))
    return _store(session, user, LEGACY, LEGACY_PREFIX + secrets.token_urlsafe(40), name="API key")


def create_personal_key(session: Session, user: User, org: Org, name: str, expiry_days: int) -> NewKey:
    if not 1 <= expiry_days <= MAX_EXPIRY_DAYS:
        raise InvalidArgumentError(f"Key expiry must be between 1 and {MAX_EXPIRY_DAYS} days.")
    if not name.strip() or len(name) > 128:
        raise InvalidArgumentError("Key name must be 1-128 characters.")
    expires = utcnow() + timedelta(days=expiry_days)
    secret = PERSONAL_PREFIX + secrets.token_urlsafe(48)
    return _store(session, user, PERSONAL, secret, name=name.strip(), org_id=org.id, expires_at=expires)


def list_personal_keys(session: Session, user: User) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.kind != LEGACY, ApiKey.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiKey.id)))


def revoke_personal_key(session: Session, user: User, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None or row.user_id != user.id or row.kind == LEGACY or row.revoked_at is not None:
        raise KeyNotFoundError(f"Key {key_id} not found.")
    row.revoked_at = utcnow()
    return row


def is_usable(row: ApiKey, now: datetime | None = None) -> bool:
    return usable(row.revoked_at, row.expires_at, row.user.is_active, now)


def usable(revoked_at: datetime | None, expires_at: datetime | None, user_active: bool,
           now: datetime | None = None) -> bool:
    """A key that is not revoked, not expired, and whose user is active."""
    now = now or utcnow()
    return revoked_at is None and (expires_at is None or expires_at > now) and user_active


def _presented(row, digest: str, user_active: bool) -> bool:
    """The presented secret's digest is this row's (compared in constant time) and the key is usable."""
    return hmac.compare_digest(row.key_hash, digest) and usable(row.revoked_at, row.expires_at, user_active)


# Built once (building costs more than running it); the key's user (is it active?) and org come with it.
_KEY_BY_HASH = (select(ApiKey).options(joinedload(ApiKey.user), joinedload(ApiKey.org))
                .where(ApiKey.key_hash == bindparam("digest")))


def resolve_key(session: Session, secret: str) -> ApiKey:
    """The live key row for a presented secret, or InvalidApiKeyError."""
    digest = hash_key(secret)
    row = session.scalar(_KEY_BY_HASH, {"digest": digest})
    if row is None or not _presented(row, digest, row.user.is_active):
        raise InvalidApiKeyError("Invalid API key")
    return row


_KEY_HOLDER = PreparedRead(  # a key, its org's name and its user's columns, in one read
    select(ApiKey.__table__.c.id.label("key_id"), ApiKey.__table__.c.kind, ApiKey.__table__.c.name.label("key_name"),
           ApiKey.__table__.c.org_id, ApiKey.__table__.c.key_hash, ApiKey.__table__.c.revoked_at,
           ApiKey.__table__.c.expires_at, Org.__table__.c.name.label("key_org_name"), *User.__table__.c)
    .join(User.__table__, User.__table__.c.id == ApiKey.__table__.c.user_id)
    .outerjoin(Org.__table__, Org.__table__.c.id == ApiKey.__table__.c.org_id)
    .where(ApiKey.__table__.c.key_hash == bindparam("digest")))


def key_holder(session: Session, secret: str) -> NamedTuple:
    """`resolve_key` without ORM objects: the key's `key_id`, `kind`, `key_name`, `org_id` and `key_org_name`, and
    its user's columns (`id`, `email`, ...), or InvalidApiKeyError."""
    digest = hash_key(secret)
    row = _KEY_HOLDER.first(session, {"digest": digest})
    if row is None or not _presented(row, digest, row.is_active):
        raise InvalidApiKeyError("Invalid API key")
    return row


def live_key(session: Session, key_id: int) -> ApiKey:
    """The key a token was issued from, if it still works (a rotated or revoked key kills its tokens)."""
    row = session.get(ApiKey, key_id)
    if row is None or not is_usable(row):
        raise InvalidApiKeyError("Invalid API key: the key this token was issued for is no longer valid.")
    return row
