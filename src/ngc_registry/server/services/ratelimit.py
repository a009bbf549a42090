"""Limits on guessing credentials at `/token` and `/v3/keys/get-caller-info`: failed attempts are counted per client
address and per account (the email of `<email>:<key>` credentials) in a sliding window.

The counts are rows of the sign-in rate limit's table (`sign_in_failures`, under their own subject prefixes), so
every replica sees the same failures and no new table is needed. A failure is recorded in a transaction of its
own: the request's transaction is rolled back with the error it answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from ...errors import RateLimitedError
from ..db.base import transaction
from ..db.prepared import PreparedRead
from ..db.tables import SignInFailure, utcnow


@dataclass(frozen=True)
class FailureLimit:
    prefix: str
    per_account: int
    per_client: int
    window_seconds: int

    def subjects(self, client: str, account: str | None) -> dict[str, int]:
        """What is counted, and how many failures each may have in the window."""
        found = {f"{self.prefix}-client:{client[:200]}": self.per_client}
        if account:
            found[f"{self.prefix}-account:{account.strip().lower()[:250]}"] = self.per_account
        return found


_RECENT_FAILURES = PreparedRead(  # it runs on every try
    select(func.count().label("failures"), func.min(SignInFailure.created_at).label("oldest"))
    .where(SignInFailure.subject == bindparam("subject"), SignInFailure.created_at > bindparam("since")))


def retry_after(session: Session, limit: FailureLimit, client: str, account: str | None) -> int:
    """Seconds until another attempt may be made; 0 when it may be made now."""
    since = utcnow() - timedelta(seconds=limit.window_seconds)
    wait = 0
    for subject, allowed in limit.subjects(client, account).items():
        count, oldest = _RECENT_FAILURES.first(session, {"subject": subject, "since": since})
        if count >= allowed:
            wait = max(wait, int((oldest - since).total_seconds()) + 1)
    return wait


def check(session: Session, limit: FailureLimit, client: str, account: str | None) -> None:
    """Raise 429 (with the seconds to wait) when the client or the account has failed too often lately."""
    wait = retry_after(session, limit, client, account)
    if wait:
        raise RateLimitedError(f"Too many failed attempts with invalid credentials; try again in {wait} seconds.",
                               detail={"retryAfter": wait})


def record_failure(sessions: sessionmaker, limit: FailureLimit, client: str, account: str | None) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        session.execute(delete(SignInFailure).where(
            SignInFailure.subject.in_(list(limit.subjects(client, account))),
            SignInFailure.created_at < now - timedelta(seconds=limit.window_seconds)))
        for subject in limit.subjects(client, account):
            session.add(SignInFailure(subject=subject, created_at=now))
