"""OCI blobs: digests, per-repository links, upload sessions and cross-repository mounts.

Bytes first, metadata second: a blob is linked to a repository only once it is verified and in the store, and the
store holds each digest once whatever refers to it (image layers, model files). Upload sessions are rows and their
chunks are part files in the store's upload area, so any replica can continue a session another one began.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from ...errors import (
    BlobUnknownError,
    BlobUploadUnknownError,
    DigestInvalidError,
    NameInvalidError,
    NameUnknownError,
    RangeNotSatisfiableError,
    SizeInvalidError,
)
from ..auth.policy import Action, Principal
from ..db.tables import ImageBlobLink, ImageRepository, ImageUpload, utcnow
from ..storage.driver import BlobStore
from . import audit, blobs, images, quotas

_DIGEST = re.compile(r"^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})\Z")
_CONTENT_RANGE = re.compile(r"^(?:bytes[ =])?([0-9]+)-([0-9]+)(?:/(?:[0-9]+|\*))?\Z")


def parse_digest(text: str | None) -> str:
    if not text or not _DIGEST.match(text):
        raise DigestInvalidError(f"Invalid digest '{(text or '')[:200]}': use sha256:<64 hex> or sha512:<128 hex>.",
                                 detail={"digest": text})
    return text


def algorithm_of(digest: str) -> str:
    return digest.partition(":")[0]


def verify(store: BlobStore, path, sha256: str, expected: str) -> None:
    """Raise unless the content (a file or an object key) has the expected digest (sha256 was computed while it
    streamed in)."""
    actual = sha256 if algorithm_of(expected) == "sha256" else store.digest_file(path, algorithm_of(expected))
    if actual != expected:
        raise DigestInvalidError(f"The uploaded content has digest {actual}, not {expected}.",
                                 detail={"digest": expected})


def find_link(session: Session, repository: ImageRepository, digest: str) -> ImageBlobLink | None:
    return session.get(ImageBlobLink, (repository.id, digest))


def link_blob(session: Session, repository: ImageRepository, digest: str, size: int) -> None:
    """Let a repository serve a blob that is in the store (its row claimed or touched in this transaction)."""
    if find_link(session, repository, digest) is None:
        session.add(ImageBlobLink(repository_id=repository.id, digest=digest, size=size))
    images.touch(repository)


def blob_for_pull(session: Session, principal: Principal, store: BlobStore, name: str,
                  digest: str) -> tuple[Path | None, int]:
    """The blob's file (None when the store is not a local directory) and size."""
    digest = parse_digest(digest)
    repository = images.repository_for(session, principal, name, Action.DOWNLOAD)
    link = find_link(session, repository, digest)
    if link is None or not store.has_blob(digest):
        raise BlobUnknownError(f"Blob {digest} is unknown to '{name}'.", detail={"digest": digest})
    return store.local_path(digest), link.size


def delete_blob(session: Session, principal: Principal, name: str, digest: str) -> None:
    """Unlink a blob from one repository; its bytes stay in the store until garbage collection."""
    digest = parse_digest(digest)
    repository = images.repository_for(session, principal, name, Action.DELETE_IMAGE)
    link = find_link(session, repository, digest)
    if link is None:
        raise BlobUnknownError(f"Blob {digest} is unknown to '{name}'.", detail={"digest": digest})
    session.delete(link)
    audit.record(session, principal.user_id, repository.org_id, "images.blob.delete", f"{name}@{digest}")


def authorize_push(session: Session, principal: Principal, name: str) -> images.Space:
    return images.authorize(session, principal, name, Action.CREATE)


def add_verified_blob(session: Session, principal: Principal, store: BlobStore, name: str, digest: str,
                      path, size: int) -> None:
    """Publish and link a blob that was just verified (a monolithic upload)."""
    space = authorize_push(session, principal, name)
    repository = images.ensure_repository(session, space, principal.user_id)
    quotas.check(session, space.org, digest, size)
    blobs.publish(session, store, path, digest, size)
    link_blob(session, repository, digest, size)


def _mountable_size(session: Session, principal: Principal, store: BlobStore, digest: str,
                    source: str) -> int | None:
    try:
        space = images.locate(session, source)
    except (NameInvalidError, NameUnknownError):
        return None
    if space.repository is None or not images.allows(principal, space, Action.DOWNLOAD):
        return None
    link = find_link(session, space.repository, digest)
    return link.size if link is not None and store.has_blob(digest) else None


def mount(session: Session, principal: Principal, store: BlobStore, name: str, digest: str,
          source: str | None) -> bool:
    """Link a blob from another repository the caller may read; False means 'upload it instead'."""
    space = authorize_push(session, principal, name)
    if not source or not _DIGEST.match(digest):
        return False
    size = _mountable_size(session, principal, store, digest, source)
    if size is None or not blobs.touch(session, {digest}) or not store.has_blob(digest):
        return False
    quotas.check(session, space.org, digest, size)
    link_blob(session, images.ensure_repository(session, space, principal.user_id), digest, size)
    return True


def start_upload(session: Session, principal: Principal, name: str) -> ImageUpload:
    authorize_push(session, principal, name)
    upload = ImageUpload(id=uuid.uuid4().hex, repository=name, user_id=principal.user_id, size=0, chunks=0)
    session.add(upload)
    session.flush()
    return upload


def _open(session: Session, principal: Principal, name: str, upload_id: str) -> tuple[images.Space, ImageUpload]:
    space = authorize_push(session, principal, name)
    upload = session.get(ImageUpload, upload_id)
    if upload is None or upload.repository != name:
        raise BlobUploadUnknownError(f"Upload '{upload_id[:64]}' is unknown to '{name}'.")
    return space, upload


def open_upload(session: Session, principal: Principal, name: str, upload_id: str) -> ImageUpload:
    return _open(session, principal, name, upload_id)[1]


def parse_content_range(header: str | None) -> tuple[int, int] | None:
    """`<start>-<end>` (inclusive) as OCI clients send it; also accepts the HTTP `bytes <start>-<end>/<total>`."""
    if header is None:
        return None
    found = _CONTENT_RANGE.match(header.strip())
    if not found or int(found[2]) < int(found[1]):
        raise RangeNotSatisfiableError(f"Invalid Content-Range '{header[:100]}': expected <start>-<end>.")
    return int(found[1]), int(found[2])


def check_chunk_start(upload: ImageUpload, chunk_range: tuple[int, int] | None) -> None:
    if chunk_range is not None and chunk_range[0] != upload.size:
        raise RangeNotSatisfiableError(f"The chunk starts at byte {chunk_range[0]}, but the upload holds "
                                       f"{upload.size} bytes: send the chunk that starts at byte {upload.size}.")


def check_chunk_length(chunk_range: tuple[int, int] | None, received: int) -> None:
    if chunk_range is not None and chunk_range[1] - chunk_range[0] + 1 != received:
        raise SizeInvalidError(f"Content-Range announces {chunk_range[1] - chunk_range[0] + 1} bytes, "
                               f"but {received} arrived.")


def record_chunk(session: Session, principal: Principal, name: str, upload_id: str, start: int, size: int,
                 sha256: str) -> ImageUpload:
    """Count a chunk already durable as part `chunks + 1`; a session that moved on meanwhile refuses it."""
    upload = open_upload(session, principal, name, upload_id)
    moved = session.execute(update(ImageUpload).where(ImageUpload.id == upload_id, ImageUpload.size == start)
                            .values(size=start + size, chunks=ImageUpload.chunks + 1, updated_at=utcnow(),
                                    sha256=sha256 if start == 0 else None))
    if moved.rowcount != 1:
        raise RangeNotSatisfiableError("Another chunk of this upload arrived first; ask for its status and resume.")
    session.refresh(upload)
    return upload


def complete_upload(session: Session, principal: Principal, store: BlobStore, name: str, upload_id: str,
                    digest: str, path, size: int) -> None:
    """Publish and link the verified blob, and end the session."""
    space, upload = _open(session, principal, name, upload_id)
    repository = images.ensure_repository(session, space, principal.user_id)
    quotas.check(session, space.org, digest, size)
    blobs.publish(session, store, path, digest, size)
    link_blob(session, repository, digest, size)
    session.delete(upload)


def cancel_upload(session: Session, principal: Principal, name: str, upload_id: str) -> None:
    session.delete(open_upload(session, principal, name, upload_id))


def uploaded_range(upload: ImageUpload) -> str:
    """The `Range` header of an upload's status: bytes 0..size-1 received (`0-0` while empty, as distribution)."""
    return f"0-{max(upload.size - 1, 0)}"

