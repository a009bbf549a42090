"""Integrity check: every reference leads to a blob row, every row to bytes of the right size, and the bytes hash
to their digest (all of them, or a random sample). Each problem is one line that names the blob and its user."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db.base import transaction
from ..db.tables import (
    Artifact,
    Blob,
    ImageBlobLink,
    ImageManifest,
    ImageManifestReference,
    ImageRepository,
    Upload,
    Version,
    VersionFile,
)
from ..storage.maintenance import MaintainedStore
from .artifacts import PENDING

READ_SIZE = 4 << 20


@dataclass
class FsckReport:
    blobs: int = 0
    rehashed: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # harmless leftovers the next `gc` removes

    def summary(self) -> str:
        return f"fsck: {self.blobs} blobs checked, {len(self.problems)} problems"


@dataclass(frozen=True)
class Reference:
    """Something that needs the blob `digest` to exist with `size` bytes (size None: any)."""

    digest: str
    size: int | None
    owner: str


def _version_files(session: Session):
    rows = session.execute(select(VersionFile.digest, VersionFile.size, VersionFile.path, Artifact.kind,
                                  Artifact.resource_id, Version.version)
                           .join(Version, Version.id == VersionFile.version_id)
                           .join(Artifact, Artifact.id == Version.artifact_id))
    for digest, size, path, kind, resource, version in rows:
        yield Reference(digest, size, f"{kind[:-1]} {resource}:{version} file '{path}'")


def _image_rows(session: Session):
    links = session.execute(select(ImageBlobLink.digest, ImageBlobLink.size, ImageRepository.name)
                            .join(ImageRepository, ImageRepository.id == ImageBlobLink.repository_id))
    for digest, size, name in links:
        yield Reference(digest, size, f"image {name} blob link")
    manifests = session.execute(select(ImageManifest.digest, ImageManifest.size, ImageRepository.name)
                                .join(ImageRepository, ImageRepository.id == ImageManifest.repository_id))
    for digest, size, name in manifests:
        yield Reference(digest, size, f"image {name}@{digest} manifest")
    references = session.execute(select(ImageManifestReference.digest, ImageManifest.digest, ImageRepository.name)
                                 .join(ImageManifest, ImageManifest.id == ImageManifestReference.manifest_id)
                                 .join(ImageRepository, ImageRepository.id == ImageManifest.repository_id))
    for digest, parent, name in references:
        yield Reference(digest, None, f"image {name}@{parent} reference")


def _uploads(session: Session):
    """Completed uploads still waiting for their version's commit (afterwards the version file is the reference)."""
    rows = session.execute(select(Upload.digest, Upload.size, Upload.path).join(Version, Version.id == Upload.version_id)
                           .where(Upload.digest.is_not(None), Version.status == PENDING))
    for digest, size, path in rows:
        yield Reference(digest, size, f"completed upload of '{path}'")


def _check_reference(reference: Reference, rows: dict[str, int], present: set[str]) -> str | None:
    where = f"(referenced by {reference.owner})"
    if reference.digest not in rows:
        return f"missing blob row: {reference.digest} {where}"
    if reference.size is not None and rows[reference.digest] != reference.size:
        return f"size mismatch: {reference.digest} is {rows[reference.digest]} bytes, not {reference.size} {where}"
    if reference.digest not in present:
        return f"missing bytes: {reference.digest} {where}"
    return None


def _unreferenced_rows(rows: dict[str, int], stored: dict[str, int], referenced: set[str]) -> list[str]:
    """Rows whose bytes are gone and that nothing refers to: what a collection killed between deleting the bytes
    and committing (the row's deletion rolls back) leaves behind. Nothing can read them (an upload of that
    content claims the row and writes the bytes again) and the next `gc` deletes them: a note, not a problem."""
    return [f"note: an unreferenced blob row without bytes (a collection was interrupted; the next gc removes it): "
            f"{digest}" for digest in sorted(rows) if digest not in stored and digest not in referenced]


def _check_rows(rows: dict[str, int], stored: dict[str, int], referenced: set[str]) -> list[str]:
    """Rows against the store (missing bytes of a referenced blob are reported with what refers to it)."""
    problems = []
    for digest, size in sorted(rows.items()):
        if digest not in stored:
            continue  # referenced: reported with what refers to it; unreferenced: a note
        if stored[digest] != size:
            problems.append(f"size mismatch: {digest} has {stored[digest]} bytes in the store, {size} in its row")
    return problems


def hash_blob(store: MaintainedStore, digest: str) -> str:
    algorithm = digest.partition(":")[0]
    hasher = hashlib.new(algorithm)
    with store.open_blob(digest) as stream:
        while chunk := stream.read(READ_SIZE):
            hasher.update(chunk)
    return f"{algorithm}:{hasher.hexdigest()}"


def _rehash(store: MaintainedStore, digests: list[str]) -> list[str]:
    problems = []
    for digest in digests:
        try:
            actual = hash_blob(store, digest)
        except FileNotFoundError:
            continue  # reported as missing bytes already (or deleted by a collection since)
        if actual != digest:
            problems.append(f"digest mismatch: {digest} hashes to {actual}")
    return problems


def check(sessions: sessionmaker[Session], store: MaintainedStore, sample: int | None = None) -> FsckReport:
    """Check every reference and row; re-hash every blob, or `sample` of them chosen at random."""
    with transaction(sessions) as session:
        rows = dict(session.execute(select(Blob.digest, Blob.size)).all())
        references = [*_version_files(session), *_image_rows(session), *_uploads(session)]
    stored = {blob.digest: blob.size for blob in store.list_blobs()}
    present = {digest for digest in rows if digest in stored}
    report = FsckReport(blobs=len(rows))
    report.problems += _check_rows(rows, stored, {reference.digest for reference in references})
    report.notes += _unreferenced_rows(rows, stored, {reference.digest for reference in references})
    report.problems += sorted({p for r in references if (p := _check_reference(r, rows, present)) is not None})
    hashable = sorted(present)
    chosen = hashable if sample is None else random.sample(hashable, min(sample, len(hashable)))
    report.rehashed = len(chosen)
    report.problems += _rehash(store, chosen)
    return report
