"""Manifests in repositories: push (checked against what the repository holds), pull, tags, delete, referrers.

A manifest's bytes are a blob in the content-addressed store like any layer; its row records what the registry
needs to answer without reading them again: media type, subject, artifact type, annotations, sizes, platforms.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...errors import (
    DigestInvalidError,
    ManifestBlobUnknownError,
    ManifestInvalidError,
    ManifestUnknownError,
    TagInvalidError,
)
from ..auth.policy import Action, Principal
from ..db.tables import ImageManifest, ImageManifestReference, ImageRepository, ImageTag, utcnow
from ..storage.driver import BlobStore
from . import audit, blobs, images, images_blobs
from .images_formats import CONFIG_TYPES, Manifest, parse_manifest, platform_of_config

MAX_CONFIG_READ = 1 << 20


def is_digest(reference: str) -> bool:
    return ":" in reference


def digest_of(body: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


def _digest_for_push(reference: str, body: bytes) -> str:
    """The manifest's digest: computed, and equal to the reference when the push names a digest."""
    if not is_digest(reference):
        if not images.is_valid_tag(reference):
            raise TagInvalidError(f"Invalid tag '{reference[:200]}': use up to 128 letters, digits, '_', '.' or '-'.")
        return digest_of(body)
    expected = images_blobs.parse_digest(reference)
    actual = digest_of(body, images_blobs.algorithm_of(expected))
    if actual != expected:
        raise DigestInvalidError(f"The manifest has digest {actual}, not {expected}.", detail={"digest": expected})
    return expected


def find_manifest(session: Session, repository: ImageRepository, digest: str) -> ImageManifest | None:
    return session.scalar(select(ImageManifest).where(ImageManifest.repository_id == repository.id,
                                                      ImageManifest.digest == digest))


def resolve(session: Session, repository: ImageRepository, reference: str) -> ImageManifest | None:
    if is_digest(reference):
        return find_manifest(session, repository, reference)
    tag = images.get_tag(session, repository, reference)
    return tag.manifest if tag else None


def _unknown(digest: str, what: str) -> ManifestBlobUnknownError:
    return ManifestBlobUnknownError(f"The manifest references {what} {digest}, which this repository does not hold; "
                                    "push it first.", detail={"digest": digest})


def _check_references(session: Session, repository: ImageRepository, manifest: Manifest) -> list[ImageManifest]:
    """Every blob and child manifest must be in the repository, with the size the manifest states."""
    blobs.touch(session, {b.digest for b in manifest.required_blobs} | {c.digest for c in manifest.children})
    for blob in manifest.required_blobs:
        link = images_blobs.find_link(session, repository, blob.digest)
        if link is None:
            raise _unknown(blob.digest, "blob")
        if link.size != blob.size:
            raise ManifestInvalidError(f"Blob {blob.digest} has {link.size} bytes, not {blob.size}.",
                                       detail={"digest": blob.digest})
    children = []
    for child in manifest.children:
        row = find_manifest(session, repository, child.digest)
        if row is None:
            raise _unknown(child.digest, "manifest")
        children.append(row)
    return children


def _publish(store: BlobStore, body: bytes, digest: str) -> None:
    writer = store.temp_writer()
    try:
        writer.write(body)
        writer.finish()
    except BaseException:
        writer.discard()
        raise
    store.promote(writer.path, digest)


def _platforms(manifest: Manifest, children: list[ImageManifest]) -> list[dict]:
    by_digest = {child.digest: child for child in children}
    return [{**(d.platform or {}), "digest": d.digest, "size": by_digest[d.digest].image_size}
            for d in manifest.children]


def _meta(store: BlobStore, manifest: Manifest, children: list[ImageManifest]) -> dict:
    if manifest.is_index:
        return {"platforms": _platforms(manifest, children)}
    config = manifest.config
    if config is None or config.media_type not in CONFIG_TYPES or config.size > MAX_CONFIG_READ:
        return {}
    with store.open_blob(config.digest) as stream:
        return platform_of_config(stream.read())


def _add_manifest(session: Session, store: BlobStore, repository: ImageRepository, manifest: Manifest,
                  digest: str, size: int, children: list[ImageManifest], actor_id: int | None) -> ImageManifest:
    image_size = sum(c.image_size for c in children) if manifest.is_index else manifest.image_size
    row = ImageManifest(repository_id=repository.id, digest=digest, media_type=manifest.media_type,
                        artifact_type=manifest.artifact_type, subject=manifest.subject, size=size,
                        image_size=image_size, annotations=manifest.annotations,
                        meta=_meta(store, manifest, children), created_by=actor_id)
    session.add(row)
    session.flush()
    references = {b.digest: False for b in manifest.required_blobs} | {c.digest: True for c in manifest.children}
    session.add_all(ImageManifestReference(manifest_id=row.id, digest=d, is_manifest=m) for d, m in references.items())
    return row


def _set_tag(session: Session, repository: ImageRepository, name: str, manifest: ImageManifest) -> None:
    tag = images.get_tag(session, repository, name)
    if tag is None:
        session.add(ImageTag(repository_id=repository.id, name=name, manifest_id=manifest.id, updated_at=utcnow()))
    else:
        tag.manifest_id, tag.updated_at = manifest.id, utcnow()
    repository.latest_tag = name


def put_manifest(session: Session, principal: Principal, store: BlobStore, name: str, reference: str,
                 body: bytes, content_type: str | None) -> tuple[str, str | None]:
    """Store a manifest (bytes first) and point the tag at it; returns its digest and its subject."""
    space = images.authorize(session, principal, name, Action.CREATE)
    digest = _digest_for_push(reference, body)
    manifest = parse_manifest(body, content_type)
    repository = images.ensure_repository(session, space, principal.user_id)
    children = _check_references(session, repository, manifest)
    blobs.claim(session, digest, len(body))
    _publish(store, body, digest)
    row = find_manifest(session, repository, digest) or _add_manifest(
        session, store, repository, manifest, digest, len(body), children, principal.user_id)
    if not is_digest(reference):
        _set_tag(session, repository, reference, row)
    images.touch(repository)
    audit.record(session, principal.user_id, repository.org_id, "images.push", f"{name}@{digest}")
    return digest, manifest.subject


def get_manifest(session: Session, principal: Principal, store: BlobStore, name: str,
                 reference: str) -> tuple[ImageManifest, Path | None]:
    """The manifest's row and its file (None when the store is not a local directory: read it with open_blob)."""
    repository = images.repository_for(session, principal, name, Action.DOWNLOAD)
    row = resolve(session, repository, reference)
    if row is None or not store.has_blob(row.digest):
        raise ManifestUnknownError(f"Manifest '{reference[:200]}' is unknown to '{name}'.")
    return row, store.local_path(row.digest)


def _remove_manifest(session: Session, row: ImageManifest) -> None:
    session.execute(delete(ImageTag).where(ImageTag.manifest_id == row.id))
    session.execute(delete(ImageManifestReference).where(ImageManifestReference.manifest_id == row.id))
    session.delete(row)


def remove(session: Session, repository: ImageRepository, reference: str) -> None:
    """A digest removes the manifest and every tag on it; a tag removes only the tag."""
    row = find_manifest(session, repository, reference) if is_digest(reference) else None
    tag = None if is_digest(reference) else images.get_tag(session, repository, reference)
    if row is None and tag is None:
        raise ManifestUnknownError(f"Manifest '{reference[:200]}' is unknown to '{repository.name}'.")
    if row is not None:
        _remove_manifest(session, row)
    else:
        session.delete(tag)
    session.flush()
    images.refresh_latest_tag(session, repository)
    images.touch(repository)


def delete_manifest(session: Session, principal: Principal, name: str, reference: str) -> None:
    repository = images.repository_for(session, principal, name, Action.DELETE_IMAGE)
    remove(session, repository, reference)
    audit.record(session, principal.user_id, repository.org_id, "images.delete", f"{name}:{reference}")


def referrers(session: Session, principal: Principal, name: str, digest: str,
              artifact_type: str | None) -> list[dict]:
    """Descriptors of the manifests whose subject is `digest`, optionally of one artifact type."""
    digest = images_blobs.parse_digest(digest)
    space = images.authorize(session, principal, name, Action.DOWNLOAD)
    if space.repository is None:
        return []
    query = select(ImageManifest).where(ImageManifest.repository_id == space.repository.id,
                                        ImageManifest.subject == digest)
    if artifact_type:
        query = query.where(ImageManifest.artifact_type == artifact_type)
    return [descriptor(row) for row in session.scalars(query.order_by(ImageManifest.id))]


def descriptor(row: ImageManifest) -> dict:
    found = {"mediaType": row.media_type, "digest": row.digest, "size": row.size}
    if row.artifact_type:
        found["artifactType"] = row.artifact_type
    if row.annotations:
        found["annotations"] = row.annotations
    return found


def architecture_variants(row: ImageManifest) -> list[dict]:
    """One entry per platform: an index's children, or the image itself."""
    if "platforms" in row.meta:
        return [{"architecture": p.get("architecture"), "os": p.get("os"), "variant": p.get("variant"),
                 "digest": p["digest"], "compressedSize": p.get("size", 0)} for p in row.meta["platforms"]]
    return [{"architecture": row.meta.get("architecture"), "os": row.meta.get("os"),
             "variant": row.meta.get("variant"), "digest": row.digest, "compressedSize": row.image_size}]
