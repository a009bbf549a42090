"""Read-modify-write of one row, safe against concurrent requests (no lost update)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from .tables import utcnow


def lock_row(session: Session, row) -> None:
    """Re-read `row` (with an `id` and an `updated_at`) under a write lock held until the transaction ends.

    An UPDATE takes the lock on both databases: PostgreSQL locks the row, SQLite takes its one write lock, and a
    concurrent request doing the same waits. The fresh read then sees what the previous one committed, so changes
    merged into JSON columns or counters are never computed from a stale copy. Pending changes are flushed first.
    """
    table = type(row)
    session.execute(update(table).where(table.id == row.id).values(updated_at=utcnow())
                    .execution_options(synchronize_session=False))
    session.refresh(row)
