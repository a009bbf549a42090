"""Blob rows and the protocol that lets uploads run while garbage collection sweeps.

A writer claims a blob's row (insert, or refresh `last_used_at`) before it publishes the bytes and keeps that row
locked until its transaction commits; the collector deletes a row, then its bytes, inside one transaction that
re-checks the row is unreferenced and unused. Whichever comes second waits for the first:

- the collector first: the writer's claim finds no row, inserts a new one and publishes the bytes again;
- the writer first: the row's fresh `last_used_at` (or the reference committed with it) keeps the collector off.

A reference to an existing blob (a mount, a manifest naming layers, a commit naming files) `touch`es its row in
the same transaction, with the same effect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.tables import Blob, utcnow


def _insert(session: Session):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(Blob)


def claim(session: Session, digest: str, size: int) -> None:
    """Insert the blob's row or refresh it; the row stays locked (and safe from collection) until commit."""
    now = utcnow()
    statement = _insert(session).values(digest=digest, size=size, created_at=now, last_used_at=now)
    session.execute(statement.on_conflict_do_update(index_elements=[Blob.digest], set_={"last_used_at": now}))


def publish(session: Session, store, source, digest: str, size: int) -> None:
    """Claim the row, then move verified content into the store (after a collector's delete, the bytes return)."""
    claim(session, digest, size)
    store.promote(source, digest)


def touch(session: Session, digests: set[str]) -> set[str]:
    """Refresh the rows of blobs about to be referenced again; returns the digests that still have a row."""
    if not digests:
        return set()
    ordered = sorted(digests)
    if session.get_bind().dialect.name == "postgresql":  # lock in one order for everyone: no deadlocks
        session.execute(select(Blob.digest).where(Blob.digest.in_(ordered)).order_by(Blob.digest).with_for_update())
    session.execute(update(Blob).where(Blob.digest.in_(ordered)).values(last_used_at=utcnow())
                    .execution_options(synchronize_session=False))
    return set(session.scalars(select(Blob.digest).where(Blob.digest.in_(ordered))))


def reserve(session: Session, digest: str, size: int) -> bool:
    """Insert a row for bytes that have none (a placeholder held until commit); False when a row exists."""
    epoch = datetime(1970, 1, 1)
    statement = _insert(session).values(digest=digest, size=size, created_at=epoch, last_used_at=epoch)
    inserted = statement.on_conflict_do_nothing(index_elements=[Blob.digest]).returning(Blob.digest)
    return session.execute(inserted).first() is not None
