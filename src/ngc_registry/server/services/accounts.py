"""Web accounts: passwords, browser sessions, one-time activation links, the sign-in rate limit, invitation mail.

Passwords are stored as argon2id hashes. Session and activation tokens are random; only their SHA-256 is stored
(they carry 256 bits of entropy, so a fast hash is the right one). Sessions and failed sign-ins are rows, so every
replica sees the same state.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ...errors import InvalidArgumentError, NotFoundError
from ..db.tables import AccountToken, ApiKey, SignInFailure, User, WebSession, utcnow
from . import audit, keys

log = logging.getLogger("ngc_registry.accounts")

PASSWORD_MIN, PASSWORD_MAX = 10, 256
ACTIVATE = "activate"
_hasher = PasswordHasher()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _decoy_hash() -> str:
    """Verified when there is no such user, so a wrong email costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


# -- passwords -----------------------------------------------------------------------------------------------

def validate_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidArgumentError(f"A password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long.")
    if not password.strip():
        raise InvalidArgumentError("A password must not be only spaces.")
    return password


def set_password(session: Session, user: User, password: str, actor_id: int | None = None) -> None:
    """Set a new password; every browser signed in as this user is signed out."""
    user.password_hash = _hasher.hash(validate_password(password))
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(session, actor_id if actor_id is not None else user.id, None, "user.password", user.email)


def _matches(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _decoy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def check_password(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if not _matches(user.password_hash if user else None, password[:PASSWORD_MAX]) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def has_api_key(session: Session, user_id: int) -> bool:
    """Whether the user has a working legacy API key (Setup warns that generating a new one ends it)."""
    query = select(ApiKey.id).where(ApiKey.user_id == user_id, ApiKey.kind == keys.LEGACY, ApiKey.revoked_at.is_(None))
    return session.scalar(query.limit(1)) is not None


# -- browser sessions ----------------------------------------------------------------------------------------

def start_session(session: Session, user: User, ttl_seconds: int) -> str:
    """A new session for the user; returns the token for the cookie (shown to no one else, stored hashed)."""
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id=_digest(token), user_id=user.id, created_at=now,
                           expires_at=now + timedelta(seconds=ttl_seconds)))
    session.flush()
    return token


def session_user(session: Session, token: str) -> User | None:
    row = session.get(WebSession, _digest(token))
    if row is None or row.expires_at <= utcnow() or not row.user.is_active:
        return None
    return row.user


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


# -- sign-in rate limit --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RateLimit:
    max_failures: int
    window_seconds: int

    def subjects(self, email: str, client_ip: str) -> dict[str, int]:
        """What is counted, and how many failures each may have: per account, and (more) per client address."""
        return {f"email:{email.strip().lower()[:300]}": self.max_failures, f"ip:{client_ip}": self.max_failures * 4}


def retry_after(session: Session, limit: RateLimit, email: str, client_ip: str) -> int:
    """Seconds until a sign-in may be tried again; 0 when it may be tried now."""
    since = utcnow() - timedelta(seconds=limit.window_seconds)
    wait = 0
    for subject, allowed in limit.subjects(email, client_ip).items():
        count, oldest = session.execute(select(func.count(), func.min(SignInFailure.created_at)).where(
            SignInFailure.subject == subject, SignInFailure.created_at > since)).one()
        if count >= allowed:
            wait = max(wait, int((oldest - since).total_seconds()) + 1)
    return wait


def record_failure(session: Session, limit: RateLimit, email: str, client_ip: str) -> None:
    now = utcnow()
    session.execute(delete(SignInFailure).where(
        SignInFailure.created_at < now - timedelta(seconds=limit.window_seconds)))
    for subject in limit.subjects(email, client_ip):
        session.add(SignInFailure(subject=subject, created_at=now))


def clear_failures(session: Session, limit: RateLimit, email: str) -> None:
    subject = next(iter(limit.subjects(email, "")))
    session.execute(delete(SignInFailure).where(SignInFailure.subject == subject))


# -- activation links ----------------------------------------------------------------------------------------

def issue_activation(session: Session, user: User, ttl_seconds: int) -> str:
    """A new one-time activation token for the user; earlier unused ones stop working."""
    now = utcnow()
    session.execute(update(AccountToken).where(AccountToken.user_id == user.id, AccountToken.purpose == ACTIVATE,
                                               AccountToken.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    session.add(AccountToken(id=_digest(token), user_id=user.id, purpose=ACTIVATE, created_at=now,
                             expires_at=now + timedelta(seconds=ttl_seconds)))
    session.flush()
    return token


def _live_token(session: Session, token: str, now: datetime) -> AccountToken | None:
    row = session.get(AccountToken, _digest(token)) if token else None
    if row is None or row.purpose != ACTIVATE or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def activation_user(session: Session, token: str) -> User:
    row = _live_token(session, token, utcnow())
    if row is None:
        raise NotFoundError("This activation link is not valid: it was used already, replaced or has expired. "
                            "Ask an administrator of your org for a new one.")
    return row.user


def activate(session: Session, token: str, password: str) -> User:
    """Set the invited user's first password and spend the link."""
    user = activation_user(session, token)
    set_password(session, user, password)
    session.get(AccountToken, _digest(token)).used_at = utcnow()
    return user


# -- invitation mail -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    sender: str


def invitation_message(sender: str, to: str, org_name: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    message["Subject"] = f"You are invited to the NGC Registry org '{org_name}'"
    message.set_content(
        f"You have been added to the org '{org_name}' of an NGC Registry.\n\n"
        f"Open this link to set your password (it works once):\n\n  {link}\n\n"
        "Then sign in, open Setup > API Key and generate the key for `ngc config set`.\n")
    return message


def send_invitation(mail: MailServer, to: str, org_name: str, link: str) -> bool:
    """Send the activation link; a mail failure is logged, never fatal (the link is returned and logged too)."""
    try:
        with smtplib.SMTP(mail.host, mail.port, timeout=10) as smtp:
            smtp.send_message(invitation_message(mail.sender, to, org_name, link))
        return True
    except (OSError, smtplib.SMTPException) as error:
        log.warning("could not send the invitation mail to %s through %s:%s: %s", to, mail.host, mail.port, error)
        return False
