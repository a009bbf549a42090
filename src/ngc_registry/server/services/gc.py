"""Garbage collection, safe while servers run: expire stale upload sessions, then sweep what nothing refers to.

A blob is live while a model or resource version file, an image manifest (as itself, its config, a layer or a
child), an image blob link, or an upload session that completed onto it refers to it, and for `grace` seconds
after it was created or last re-used. Everything else goes: its row first, in a transaction that re-checks it,
then its bytes, before that transaction commits (services/blobs.py says why a concurrent upload cannot lose it).
Bytes without a row (a crash between publishing and committing) go the same way once older than `grace`.

The store is used only through storage/maintenance.py's operations, so any storage driver can be collected.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..db.base import transaction
from ..db.tables import (
    Blob,
    ImageBlobLink,
    ImageManifest,
    ImageManifestReference,
    ImageUpload,
    Upload,
    VersionFile,
    utcnow,
)
from ..storage.maintenance import MaintainedStore, StoredBlob
from . import blobs

DEFAULT_GRACE_SECONDS = 3600
DEFAULT_UPLOAD_TTL_SECONDS = 24 * 3600
BATCH = 500


@dataclass
class GcReport:
    dry_run: bool
    blobs: int = 0
    blob_bytes: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    temp_files: int = 0
    temp_bytes: int = 0
    ngc_uploads: int = 0
    oci_uploads: int = 0
    upload_areas: int = 0
    spared: int = 0  # candidates that were re-used while the sweep ran

    @property
    def freed_bytes(self) -> int:
        return self.blob_bytes + self.orphan_bytes + self.temp_bytes

    @property
    def freed_objects(self) -> int:
        return self.blobs + self.orphans + self.temp_files

    def summary(self) -> str:
        verb, expire = ("would free", "would expire") if self.dry_run else ("freed", "expired")
        head = "gc (dry run, nothing changed)" if self.dry_run else "gc"
        return (f"{head}: {verb} {self.freed_bytes} bytes in {self.freed_objects} objects ({self.blobs} blobs, "
                f"{self.orphans} files without a row, {self.temp_files} temporary files); {expire} "
                f"{self.ngc_uploads + self.oci_uploads} upload sessions ({self.ngc_uploads} NGC, {self.oci_uploads} "
                f"OCI) and {self.upload_areas} abandoned upload areas; {self.spared} blobs re-used during the sweep")


def referenced(digest):
    """SQL condition: something refers to the blob with this digest."""
    return or_(exists().where(VersionFile.digest == digest), exists().where(ImageManifest.digest == digest),
               exists().where(ImageManifestReference.digest == digest), exists().where(ImageBlobLink.digest == digest),
               exists().where(Upload.digest == digest))


def _unused(cutoff):
    last_used = func.coalesce(Blob.last_used_at, Blob.created_at)
    return and_(Blob.created_at < cutoff, last_used < cutoff, ~referenced(Blob.digest))


def _batches(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def collect(sessions: sessionmaker[Session], store: MaintainedStore, grace: float = DEFAULT_GRACE_SECONDS,
            upload_ttl: float = DEFAULT_UPLOAD_TTL_SECONDS, dry_run: bool = False,
            listener=None) -> GcReport:
    """One collection; `listener(kind, name, size)` hears of each object deleted (or, dry, that would be)."""
    report, notify = GcReport(dry_run), listener or (lambda *_: None)
    expire_uploads(sessions, store, upload_ttl, report)
    _sweep_rows(sessions, store, utcnow() - timedelta(seconds=grace), report, notify)
    _sweep_orphans(sessions, store, time.time() - grace, report, notify)
    _sweep_upload_areas(sessions, store, time.time() - upload_ttl, report)
    _sweep_temp(store, time.time() - upload_ttl, report, notify)
    return report


# -- upload sessions ------------------------------------------------------------------------------------------

def expire_uploads(sessions: sessionmaker[Session], store: MaintainedStore, ttl: float, report: GcReport) -> None:
    """NGC uploads older than `ttl` (since they started or completed) and OCI uploads idle that long."""
    cutoff = utcnow() - timedelta(seconds=ttl)
    ngc_age = func.coalesce(Upload.completed_at, Upload.created_at) < cutoff
    with transaction(sessions) as session:
        ngc = list(session.scalars(select(Upload.id).where(ngc_age)))
        oci = list(session.scalars(select(ImageUpload.id).where(ImageUpload.updated_at < cutoff)))
    if not report.dry_run:
        ngc = _delete_ids(sessions, Upload, ngc, ngc_age)
        oci = _delete_ids(sessions, ImageUpload, oci, ImageUpload.updated_at < cutoff)
        for upload_id in ngc + oci:
            store.drop_upload(upload_id)
    report.ngc_uploads, report.oci_uploads = len(ngc), len(oci)


def _delete_ids(sessions: sessionmaker[Session], table, ids: list[str], still_stale) -> list[str]:
    """Delete these rows if still stale (a chunk may have arrived since); returns the ids deleted."""
    deleted: list[str] = []
    for batch in _batches(ids):
        with transaction(sessions) as session:
            statement = delete(table).where(table.id.in_(batch), still_stale).returning(table.id)
            deleted += session.scalars(statement.execution_options(synchronize_session=False))
    return deleted


# -- blobs with rows ------------------------------------------------------------------------------------------

def _sweep_rows(sessions, store: MaintainedStore, cutoff, report: GcReport, notify) -> None:
    with transaction(sessions) as session:
        candidates = session.execute(select(Blob.digest, Blob.size).where(_unused(cutoff))).all()
    for digest, size in candidates:
        if report.dry_run or _delete_blob(sessions, store, digest, cutoff):
            report.blobs, report.blob_bytes = report.blobs + 1, report.blob_bytes + size
            notify("blob", digest, size)
        else:
            report.spared += 1


def _delete_blob(sessions, store: MaintainedStore, digest: str, cutoff) -> bool:
    try:
        with transaction(sessions) as session:
            statement = delete(Blob).where(Blob.digest == digest, _unused(cutoff))
            if session.execute(statement.execution_options(synchronize_session=False)).rowcount != 1:
                return False
            store.delete_blob(digest)  # under the row's lock: a writer claiming it now waits, then re-publishes
            return True
    except IntegrityError:  # a version file referring to it committed meanwhile
        return False


# -- bytes without rows, abandoned upload areas, temporary files ------------------------------------------------

def _without_rows(sessions, stored: list[StoredBlob]) -> list[StoredBlob]:
    known: set[str] = set()
    with transaction(sessions) as session:
        for batch in _batches([blob.digest for blob in stored]):
            known.update(session.scalars(select(Blob.digest).where(Blob.digest.in_(batch))))
    return [blob for blob in stored if blob.digest not in known]


def _sweep_orphans(sessions, store: MaintainedStore, cutoff: float, report: GcReport, notify) -> None:
    old = [blob for blob in store.list_blobs() if blob.modified < cutoff]
    for blob in _without_rows(sessions, old):
        if report.dry_run or _delete_orphan(sessions, store, blob):
            report.orphans, report.orphan_bytes = report.orphans + 1, report.orphan_bytes + blob.size
            notify("orphan", blob.digest, blob.size)


def _delete_orphan(sessions, store: MaintainedStore, blob: StoredBlob) -> bool:
    """Hold a placeholder row while the bytes go, so that a writer claiming the digest waits and re-publishes."""
    with transaction(sessions) as session:
        if not blobs.reserve(session, blob.digest, blob.size):
            return False
        store.delete_blob(blob.digest)
        session.execute(delete(Blob).where(Blob.digest == blob.digest).execution_options(synchronize_session=False))
        return True


def _known_uploads(sessions, ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    with transaction(sessions) as session:
        for batch in _batches(list(ids)):
            found.update(session.scalars(select(Upload.id).where(Upload.id.in_(batch))))
            found.update(session.scalars(select(ImageUpload.id).where(ImageUpload.id.in_(batch))))
    return found


def _sweep_upload_areas(sessions, store: MaintainedStore, cutoff: float, report: GcReport) -> None:
    old = [upload_id for upload_id, modified in store.list_uploads() if modified < cutoff]
    for upload_id in set(old) - _known_uploads(sessions, old):
        if not report.dry_run:
            store.drop_upload(upload_id)
        report.upload_areas += 1


def _sweep_temp(store: MaintainedStore, cutoff: float, report: GcReport, notify) -> None:
    for name, modified, size in list(store.list_temp()):
        if modified < cutoff:
            if not report.dry_run:
                store.delete_temp(name)
            report.temp_files, report.temp_bytes = report.temp_files + 1, report.temp_bytes + size
            notify("temporary", name, size)
