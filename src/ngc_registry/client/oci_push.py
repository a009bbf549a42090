"""Pushing an image from an OCI layout or docker-archive: blobs first (in parallel), then manifests, then the tag.

1. plan: the manifest (or index and its platform manifests) to push, and every blob they reference;
2. check: HEAD each blob, so what the registry already has is neither read nor sent ("Layer already exists");
3. upload the rest: a mount is asked for first (free when the registry holds the bytes for another
   repository), then one PUT, or PATCH chunks for blobs larger than the chunk size;
4. manifests: an index's platform manifests by digest, then the top manifest by the tag.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..errors import IntegrityError, InvalidArgumentError, RegistryError
from .image_layout import ImageSource
from .oci import OciClient
from .oci_media import SOURCE_REPOSITORY_ANNOTATION, Descriptor, Manifest, Platform, select_platform
from .oci_reference import ImageRef
from .oci_transfer import (EXISTS, FAILED, MOUNTED, TRANSFERRED, BlobOutcome, ImageTransferResult, NoProgress,
                           Progress, TransferStopped, is_refusal, run_in_parallel)
from .oci_upload import DEFAULT_CHUNK_SIZE, PUSHED, BlobUploader


@dataclass
class PushPlan:
    """Manifests in the order they are pushed (platform manifests before their index), and the blobs first."""

    top: Descriptor
    manifests: list[tuple[Descriptor, Manifest]] = field(default_factory=list)
    blobs: dict[str, Descriptor] = field(default_factory=dict)
    present_manifests: set[str] = field(default_factory=set)  # index entries the registry already holds

    @property
    def bytes_total(self) -> int:
        return sum(blob.size for blob in self.blobs.values())


class ImagePush:
    def __init__(self, client: OciClient, source: ImageSource, ref: ImageRef, *, workers: int = 8,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, progress: Progress | None = None,
                 stop: threading.Event | None = None):
        self.client = client
        self.source = source
        self.ref = ref
        self.workers = workers
        self.chunk_size = chunk_size
        self.progress = progress or NoProgress()
        self.stop = stop or threading.Event()
        self.mount_from: str | None = None

    # -- planning -------------------------------------------------------------------------------------------

    def plan(self, source_ref: str | None = None, platform: Platform | None = None) -> PushPlan:
        top = self.source.select(source_ref or self.ref.tag)
        repository = (top.annotations or {}).get(SOURCE_REPOSITORY_ANNOTATION)
        self.mount_from = repository if repository and repository != self.ref.repository else None
        manifest = self.source.read_manifest(top)
        if manifest.is_index and platform:
            top = select_platform(manifest, platform)
            manifest = self.source.read_manifest(top)
        plan = PushPlan(Descriptor(manifest.media_type or top.media_type, top.digest, top.size))
        self._collect(plan, plan.top, manifest)
        return plan

    def _collect(self, plan: PushPlan, descriptor: Descriptor, manifest: Manifest) -> None:
        for child in manifest.children:
            if self.source.has_manifest(child):
                self._collect(plan, child, self.source.read_manifest(child))
            elif self.client.head_manifest(self.ref.repository, child.digest):
                plan.present_manifests.add(child.digest)
            else:
                raise InvalidArgumentError(f"The source lacks the manifest {child.digest} that its index lists "
                                           f"({describe_platform(child)}); push one platform with --platform.")
        for blob in manifest.blobs:
            plan.blobs.setdefault(blob.digest, blob)
        plan.manifests.append((descriptor, manifest))

    # -- blobs ----------------------------------------------------------------------------------------------

    def check_existing(self, plan: PushPlan, result: ImageTransferResult) -> list[Descriptor]:
        """HEAD every blob in parallel; record those the registry has and return the others."""
        missing: list[Descriptor] = []
        lock = threading.Lock()

        def check(blob: Descriptor) -> None:
            size = self.client.blob_size(self.ref.repository, blob.digest)
            if size is not None:
                result.record(BlobOutcome(blob.digest, blob.size, EXISTS))
            else:
                with lock:
                    missing.append(blob)

        run_in_parallel([lambda blob=blob: check(blob) for blob in plan.blobs.values()], self.workers, self.stop)
        order = list(plan.blobs)
        return sorted(missing, key=lambda blob: order.index(blob.digest))

    def upload_blobs(self, blobs: list[Descriptor], result: ImageTransferResult) -> None:
        def count(nbytes: int) -> None:
            self.progress.advance(nbytes)
            result.add_bytes(nbytes)

        uploader = BlobUploader(self.client, self.ref.repository, chunk_size=self.chunk_size, on_bytes=count,
                                stop=self.stop)
        self.progress.start(sum(blob.size for blob in blobs), 0)
        try:
            run_in_parallel([lambda blob=blob: self._upload(uploader, blob, result) for blob in blobs],
                            self.workers, self.stop)
        finally:
            self.progress.finish()

    def _upload(self, uploader: BlobUploader, blob: Descriptor, result: ImageTransferResult) -> None:
        location = self.source.location(blob.digest)
        if location is None:
            result.record(BlobOutcome(blob.digest, blob.size, FAILED, "missing from the source and not in the "
                                                                     "registry"))
            return
        try:
            outcome = uploader.upload(blob.digest, location, self.mount_from)
            result.record(BlobOutcome(blob.digest, blob.size, TRANSFERRED if outcome == PUSHED else MOUNTED))
        except TransferStopped:
            pass
        except (RegistryError, OSError) as err:
            if is_refusal(err):
                self.stop.set()
                raise
            result.record(BlobOutcome(blob.digest, blob.size, FAILED, getattr(err, "message", None) or str(err)))

    # -- manifests ------------------------------------------------------------------------------------------

    def push_manifests(self, plan: PushPlan, result: ImageTransferResult) -> str:
        """Platform manifests by digest, then the top one by tag (or digest); the digest the registry stored."""
        for descriptor, manifest in plan.manifests:
            reference = self.ref.tag if descriptor.digest == plan.top.digest and self.ref.tag else descriptor.digest
            stored = self.client.put_manifest(self.ref.repository, reference, manifest.data,
                                              manifest.media_type or descriptor.media_type)
            if stored != descriptor.digest:
                raise IntegrityError(f"The registry stored the manifest {descriptor.digest} as {stored}.")
            result.manifests += 1
        return plan.top.digest

    def run(self, plan: PushPlan, missing: list[Descriptor], result: ImageTransferResult) -> ImageTransferResult:
        self.upload_blobs(missing, result)
        if not result.failures and not self.stop.is_set():
            result.digest = self.push_manifests(plan, result)
        return result.finish()


def describe_platform(descriptor: Descriptor) -> str:
    platform = descriptor.platform or {}
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    return "platform " + "/".join(part for part in parts if part) if platform.get("os") else "no platform"
