"""Who did what, when: one row per change."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..db.tables import AuditEvent


def record(session: Session, actor_id: int | None, org_id: int | None, action: str, target: str) -> None:
    session.add(AuditEvent(actor_id=actor_id, org_id=org_id, action=action, target=target[:512]))
