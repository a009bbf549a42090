"""Per-org storage quotas. An org stores the distinct blobs its content refers to: model and resource files (and
completed uploads not yet committed), image layers and configs linked to its repositories, and its manifests.
Content the org already holds costs nothing again; a blob shared by two orgs counts for each.

The check runs when an upload completes, so two uploads finishing at the same moment may overshoot the limit by
one of them: a quota bounds growth, it is not a reservation.
"""

from __future__ import annotations

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from ...errors import InsufficientStorageError, InvalidArgumentError
from ..db.tables import (
    Artifact,
    Blob,
    ImageBlobLink,
    ImageManifest,
    ImageRepository,
    Org,
    StorageQuota,
    Upload,
    Version,
    VersionFile,
    utcnow,
)
from . import audit, orgs


def _sources() -> list[tuple]:
    """(query of org_id and digest, its org column, its digest column) for each kind of reference."""
    files = (select(Artifact.org_id.label("org_id"), VersionFile.digest.label("digest"))
             .join(Version, Version.id == VersionFile.version_id).join(Artifact, Artifact.id == Version.artifact_id))
    uploads = (select(Artifact.org_id, Upload.digest).join(Version, Version.id == Upload.version_id)
               .join(Artifact, Artifact.id == Version.artifact_id).where(Upload.digest.is_not(None)))
    links = select(ImageRepository.org_id, ImageBlobLink.digest).join(
        ImageRepository, ImageRepository.id == ImageBlobLink.repository_id)
    manifests = select(ImageRepository.org_id, ImageManifest.digest).join(
        ImageRepository, ImageRepository.id == ImageManifest.repository_id)
    return [(files, Artifact.org_id, VersionFile.digest), (uploads, Artifact.org_id, Upload.digest),
            (links, ImageRepository.org_id, ImageBlobLink.digest),
            (manifests, ImageRepository.org_id, ImageManifest.digest)]


def _org_digests(org_id: int | None = None, digest: str | None = None):
    """Distinct (org_id, digest) pairs, optionally for one org and one digest."""
    parts = []
    for query, org_column, digest_column in _sources():
        if org_id is not None:
            query = query.where(org_column == org_id)
        if digest is not None:
            query = query.where(digest_column == digest)
        parts.append(query)
    return union(*parts).subquery()


def usage(session: Session, org_id: int) -> int:
    pairs = _org_digests(org_id)
    return session.scalar(select(func.coalesce(func.sum(Blob.size), 0))
                          .select_from(pairs).join(Blob, Blob.digest == pairs.c.digest)) or 0


def usage_by_org(session: Session) -> dict[str, int]:
    """Bytes stored by every org that stores anything, by org name."""
    pairs = _org_digests()
    rows = session.execute(select(Org.name, func.sum(Blob.size)).select_from(pairs)
                           .join(Blob, Blob.digest == pairs.c.digest).join(Org, Org.id == pairs.c.org_id)
                           .group_by(Org.name))
    return {name: int(total or 0) for name, total in rows}


def holds(session: Session, org_id: int, digest: str) -> bool:
    return session.scalar(select(func.count()).select_from(_org_digests(org_id, digest))) > 0


def limit_of(session: Session, org_id: int) -> int:
    return session.scalar(select(StorageQuota.max_bytes).where(StorageQuota.org_id == org_id)) or 0


def limits_by_org(session: Session) -> dict[str, int]:
    rows = session.execute(select(Org.name, StorageQuota.max_bytes).join(Org, Org.id == StorageQuota.org_id)
                           .where(StorageQuota.max_bytes > 0))
    return {name: limit for name, limit in rows}


def set_quota(session: Session, org_name: str, max_bytes: int) -> Org:
    """Limit an org's storage to `max_bytes` (0: no limit)."""
    if max_bytes < 0:
        raise InvalidArgumentError("A quota is a number of bytes, 0 or more (0: no limit).")
    org = orgs.get_org(session, org_name)
    row = session.get(StorageQuota, org.id)
    if row is None:
        session.add(StorageQuota(org_id=org.id, max_bytes=max_bytes))
    else:
        row.max_bytes, row.updated_at = max_bytes, utcnow()
    audit.record(session, None, org.id, "org.quota", f"{org.name}={max_bytes}")
    return org


def check(session: Session, org: Org, digest: str | None, size: int) -> None:
    """Refuse content that would take the org past its quota; content it already holds is free."""
    limit = limit_of(session, org.id)
    if not limit or (digest and holds(session, org.id, digest)):
        return
    used = usage(session, org.id)
    if used + size > limit:
        raise InsufficientStorageError(f"Org '{org.name}' storage quota of {limit} exceeded: {used} bytes stored, "
                                       f"this upload adds {size} bytes.")


def check_version_upload(session: Session, version_id: int, digest: str | None, size: int) -> None:
    """The check for a model or resource file, before its parts are assembled."""
    version = session.get(Version, version_id)
    check(session, version.artifact.org, digest, size)
