"""NGC uploads: hash check, multipart sessions and parts, completion into the content-addressed store, commit.

Bytes first, metadata second: a part is durable before its row is written; a file is verified against its digest
and moved into the store before the upload is marked complete; a version lists a file only once it is committed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import os
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import BadRequestError, IntegrityError, NotFoundError
from ..auth import policy
from ..auth.policy import Action, Principal, Scope
from ..db.tables import Artifact, Blob, Upload, UploadPart, Version, VersionFile, utcnow
from ..storage.driver import BlobStore
from ..storage.filesystem import FilesystemStore
from ..storage.maintenance import MissingPartsError
from . import artifacts, blobs, quotas


def digest_from_b64(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError(f"Invalid sha256 '{value[:64]}': expected base64 of 32 bytes.") from None
    if len(raw) != 32:
        raise BadRequestError(f"Invalid sha256 '{value[:64]}': expected base64 of 32 bytes.")
    return "sha256:" + raw.hex()


def digest_to_b64(digest: str) -> str:
    return base64.b64encode(bytes.fromhex(digest.partition(":")[2])).decode()


def part_count(size: int, part_size: int) -> int:
    return max(math.ceil(size / part_size), 1)


def part_length(upload: Upload, number: int) -> int:
    return max(min(upload.part_size, upload.size - (number - 1) * upload.part_size), 0)


def readable_digests(session: Session, principal: Principal, digests: set[str]) -> set[str]:
    """The digests among these that the caller may build on: in content they can download, or uploaded by them.

    Answering for every stored blob would let anyone who knows a hash claim a file they cannot read.
    """
    if not digests:
        return set()
    found = set(session.scalars(select(Upload.digest).where(Upload.digest.in_(digests),
                                                            Upload.user_id == principal.user_id)))
    rows = session.execute(
        select(VersionFile.digest, Artifact.org_id, Artifact.team_id, Artifact.is_public)
        .join(Version, Version.id == VersionFile.version_id).join(Artifact, Artifact.id == Version.artifact_id)
        .where(VersionFile.digest.in_(digests - found)))
    for digest, org_id, team_id, public in rows:
        if policy.allows(principal, Action.DOWNLOAD, Scope(org_id=org_id, team_id=team_id, public=public)):
            found.add(digest)
    return found


def start_upload(session: Session, version: Version, user_id: int | None, path: str, size: int,
                 expected: str | None, part_size: int, upload_id: str | None) -> Upload:
    if version.status != artifacts.PENDING:
        raise BadRequestError(f"Version '{version.version}' is not in state UPLOAD_PENDING.")
    artifacts.validate_file_path(path)
    if size < 0:
        raise BadRequestError("File size must not be negative.")
    if upload_id:
        upload = session.get(Upload, upload_id)
        if upload is None or upload.version_id != version.id or upload.path != path or upload.size != size:
            raise NotFoundError(f"Upload '{upload_id}' not found for '{path}'.")
        return upload
    upload = Upload(id=uuid.uuid4().hex, version_id=version.id, user_id=user_id, path=path, size=size,
                    expected_digest=expected, part_size=part_size)
    session.add(upload)
    session.flush()
    return upload


def check_part_number(upload: Upload, number: int) -> None:
    if not 1 <= number <= part_count(upload.size, upload.part_size):
        raise BadRequestError(f"Part {number} is out of range for a file of {upload.size} bytes.")


def check_part(upload: Upload, number: int, received: int) -> None:
    check_part_number(upload, number)
    if received != part_length(upload, number):
        raise BadRequestError(f"Part {number} must be {part_length(upload, number)} bytes; received {received}.")


def record_part(session: Session, upload_id: str, number: int, size: int, digest: str) -> None:
    row = session.get(UploadPart, (upload_id, number))
    if row is None:
        session.add(UploadPart(upload_id=upload_id, number=number, size=size, digest=digest))
    else:
        row.size, row.digest = size, digest


READ_SIZE = 4 << 20


def assembled_path(store: FilesystemStore, upload_id: str) -> Path:
    """The one file every part of an NGC upload is written into, each at its offset (beside the part files)."""
    return store.part_path(upload_id, 1).parent / "assembled"


class PartWriter:
    """Writes one part into the upload's assembled file at the part's offset, hashing the part as it goes.

    Parts written in place need no concatenation at completion: a multipart file is then read once to check its
    sha256 (from the page cache) instead of copied whole (a second full write of the file to disk). Only the part of
    a one-part file is hashed as it arrives (that digest is the file's); the parts of a larger file are not, since
    the check at completion hashes every byte anyway (it saves a sha256 pass over the file, about 1 CPU-s per 2 GiB).
    """

    def __init__(self, store: FilesystemStore, upload: Upload, number: int):
        self.path = assembled_path(store, upload.id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size, self._offset = 0, (number - 1) * upload.part_size
        self._limit = part_length(upload, number)
        self._hash = hashlib.sha256() if part_count(upload.size, upload.part_size) == 1 else None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)

    def write(self, data: bytes) -> None:
        """Bytes past the part's length are counted (`check_part` refuses the part) but never written."""
        view, position = memoryview(data)[:max(self._limit - self.size, 0)], self._offset + self.size
        while view:
            written = os.pwrite(self._fd, view, position)
            view, position = view[written:], position + written
        if self._hash is not None:
            self._hash.update(data)
        self.size += len(data)

    def finish(self) -> str:
        """Make the bytes durable; the part's sha256 for a one-part file, else "" (checked whole at completion)."""
        os.fdatasync(self._fd)
        os.close(self._fd)
        return "sha256:" + self._hash.hexdigest() if self._hash is not None else ""

    def discard(self) -> None:
        os.close(self._fd)  # bytes already written stay: the part has no row, so it is sent again


def _hash_file(path: Path) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    with open(path, "rb", buffering=0) as source:
        while chunk := source.read(READ_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    return "sha256:" + hasher.hexdigest(), size


def _assemble(store: FilesystemStore, upload: Upload, parts: list[UploadPart]):
    if store.part_path(upload.id, 1).exists():  # parts stored as separate files (an upload from an older server)
        if len(parts) == 1:
            return store.part_path(upload.id, 1), parts[0].digest, parts[0].size
        return store.concatenate_parts(upload.id, len(parts))
    path = assembled_path(store, upload.id)
    if not path.exists() and upload.size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    if len(parts) == 1:
        return path, parts[0].digest, path.stat().st_size
    return (path, *_hash_file(path))


def _gather(session: Session, store: BlobStore, upload: Upload):
    """The whole file with its sha256 and size: assembled from the parts the server received, or (when clients
    send parts straight to an object store) completed there and read back."""
    count = part_count(upload.size, upload.part_size)
    if store.presigns:
        quotas.check_version_upload(session, upload.version_id, upload.expected_digest, upload.size)
        try:
            return store.complete_parts(upload.id, count, upload.size)
        except MissingPartsError as error:
            raise BadRequestError(f"Upload of '{upload.path}' is missing parts {error.missing[:20]}.") from None
    parts = list(session.scalars(select(UploadPart).where(UploadPart.upload_id == upload.id)
                                 .order_by(UploadPart.number)))
    missing = sorted(set(range(1, count + 1)) - {p.number for p in parts})
    if missing:
        raise BadRequestError(f"Upload of '{upload.path}' is missing parts {missing[:20]}.")
    quotas.check_version_upload(session, upload.version_id, upload.expected_digest, upload.size)
    return _assemble(store, upload, parts)


def complete_upload(session: Session, store: BlobStore, upload: Upload) -> str:
    """Verify the whole file against its digest and publish it in the store; return its digest."""
    if upload.digest:
        raise BadRequestError(f"Upload of '{upload.path}' is already complete.")
    source, digest, size = _gather(session, store, upload)
    if (upload.expected_digest and digest != upload.expected_digest) or size != upload.size:
        store.drop_upload(upload.id)
        session.query(UploadPart).filter(UploadPart.upload_id == upload.id).delete()
        raise IntegrityError(f"'{upload.path}' does not match its sha256; upload it again.")
    blobs.publish(session, store, source, digest, size)
    upload.digest, upload.completed_at = digest, utcnow()
    store.drop_upload(upload.id)
    return digest


def commit_files(session: Session, principal: Principal, version: Version, files: list[dict]) -> None:
    """Add uploaded (or already readable) files to a pending version."""
    if version.status != artifacts.PENDING:
        raise BadRequestError(f"Version '{version.version}' is not in state UPLOAD_PENDING.")
    wanted = {artifacts.validate_file_path(f["filePath"]): digest_from_b64(f["sha256"]) for f in files}
    readable = blobs.touch(session, readable_digests(session, principal, set(wanted.values())))
    for path, digest in wanted.items():
        blob = session.get(Blob, digest) if digest in readable else None
        if blob is None:
            raise BadRequestError(f"File '{path}' has not been uploaded; upload it before the commit.")
        artifacts.commit_file(session, version, path, digest, blob.size)
