"""Who did what, when, and from where: one row per change."""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.tables import AuditEvent, User


# The address of the client whose request is being served; set once per request by the web layer.
client_address: ContextVar[str | None] = ContextVar("audit_client_address", default=None)


def record(session: Session, actor_id: int | None, org_id: int | None, action: str, target: str) -> None:
    session.add(AuditEvent(actor_id=actor_id, org_id=org_id, action=action, target=target[:512],
                           client_address=client_address.get()))


def events(session: Session, org_id: int, page: int, size: int) -> tuple[list[tuple[AuditEvent, str | None]], int]:
    """An org's events, newest first, each with its actor's email (None for the operator's commands)."""
    where = AuditEvent.org_id == org_id
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(where)) or 0
    rows = session.execute(select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_id)
                           .where(where).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                           .offset(page * size).limit(size))
    return [(event, email) for event, email in rows], total
