"""Pulling an image into an OCI image layout: resolve the manifests, fetch the blobs in parallel, verify, resume.

Each blob streams into `<hex>.partial` while hashed; a rerun hashes what the partial file holds and asks for the
rest with `Range`. Only a blob whose digest matches is renamed into place, and only when every blob is there are
the manifests and index.json written, so an interrupted pull never leaves a layout that looks complete.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import httpx

from ..errors import ConnectionFailedError, IntegrityError, NotFoundError, RegistryError
from .oci import OciClient
from .oci_layout_writer import LayoutWriter
from .oci_media import (REF_NAME_ANNOTATION, SOURCE_REPOSITORY_ANNOTATION, Descriptor, Manifest, Platform,
                        new_hasher, parse_manifest, platform_matches, select_platform)
from .oci_reference import ImageRef
from .oci_transfer import (EXISTS, FAILED, TRANSFERRED, BlobOutcome, ImageTransferResult, NoProgress, Progress,
                           TransferStopped, is_refusal, is_retryable, run_in_parallel)

DOWNLOAD_ATTEMPTS = 5
HASH_READ_SIZE = 1024 * 1024
DEFAULT_PLATFORM = Platform("linux", "amd64")


@dataclass
class PullPlan:
    """`top` is what index.json will point at; `manifests` are written after `blobs` arrived."""

    top: Descriptor
    manifests: dict[str, Manifest] = field(default_factory=dict)
    blobs: dict[str, Descriptor] = field(default_factory=dict)

    @property
    def top_manifest(self) -> Manifest:
        return self.manifests[self.top.digest]

    def add(self, descriptor: Descriptor, manifest: Manifest) -> None:
        self.manifests[descriptor.digest] = manifest
        for blob in manifest.blobs:
            self.blobs.setdefault(blob.digest, blob)


class ImagePull:
    def __init__(self, client: OciClient, ref: ImageRef, layout: LayoutWriter, *, workers: int = 8,
                 progress: Progress | None = None, stop: threading.Event | None = None):
        self.client = client
        self.ref = ref
        self.layout = layout
        self.workers = workers
        self.progress = progress or NoProgress()
        self.stop = stop or threading.Event()

    # -- planning -------------------------------------------------------------------------------------------

    def plan(self, platform: Platform | None = None, keep_index: bool = True) -> PullPlan:
        """Resolve the reference; an index is kept whole, or narrowed to one platform's manifest."""
        data, media_type, digest = self.client.get_manifest(self.ref.repository, self.ref.reference)
        manifest = parse_manifest(data, media_type)
        top = Descriptor(manifest.media_type, digest, len(data))
        if manifest.is_index and (platform or not keep_index):
            top = select_platform(manifest, platform, DEFAULT_PLATFORM)
            manifest = self.fetch_manifest(top)
        elif platform and not manifest.is_index:
            self.check_platform(manifest, platform)
        plan = PullPlan(top)
        self._collect(plan, top, manifest)
        return plan

    def check_platform(self, manifest: Manifest, wanted: Platform) -> None:
        """A single-platform image must be for the platform asked for (its config says which it is)."""
        if manifest.config is None:
            return
        with self.client.open_blob(self.ref.repository, manifest.config.digest) as response:
            config = parse_json_object(response.read())
        offered = Platform(str(config.get("os")), str(config.get("architecture")), config.get("variant"))
        if config.get("os") and not platform_matches(wanted, offered):
            raise NotFoundError(f"Image '{self.ref}' is for {offered} only, not {wanted}.")

    def fetch_manifest(self, descriptor: Descriptor) -> Manifest:
        data, media_type, _ = self.client.get_manifest(self.ref.repository, descriptor.digest)
        return parse_manifest(data, descriptor.media_type or media_type)

    def _collect(self, plan: PullPlan, descriptor: Descriptor, manifest: Manifest) -> None:
        plan.add(descriptor, manifest)
        for child in manifest.children:
            if child.digest not in plan.manifests:
                self._collect(plan, child, self.fetch_manifest(child))

    # -- fetching -------------------------------------------------------------------------------------------

    def run(self, plan: PullPlan, result: ImageTransferResult | None = None) -> ImageTransferResult:
        result = result or ImageTransferResult("Pull", str(self.ref), self.layout.root, plan.top.digest)
        missing = [blob for blob in plan.blobs.values() if not self._already_here(blob, result)]
        self.progress.start(sum(blob.size for blob in missing), sum(self._partial_size(blob) for blob in missing))
        try:
            run_in_parallel([lambda blob=blob: self._fetch(blob, result) for blob in missing], self.workers,
                            self.stop)
        finally:
            self.progress.finish()
        if not result.failures:
            self.write_manifests(plan)
            result.manifests = len(plan.manifests)
        return result.finish()

    def write_manifests(self, plan: PullPlan) -> None:
        for digest, manifest in plan.manifests.items():
            self.layout.put_bytes(manifest.data, digest)
        annotations = {SOURCE_REPOSITORY_ANNOTATION: self.ref.repository}
        if self.ref.tag and not self.ref.digest:
            annotations[REF_NAME_ANNOTATION] = self.ref.tag
        top = Descriptor(plan.top.media_type, plan.top.digest, plan.top.size, plan.top.platform, annotations)
        self.layout.write_index([top])

    def _already_here(self, blob: Descriptor, result: ImageTransferResult) -> bool:
        if self.layout.has_blob(blob.digest, blob.size):
            result.record(BlobOutcome(blob.digest, blob.size, EXISTS))
            return True
        return False

    def _partial_size(self, blob: Descriptor) -> int:
        path = self.layout.partial_path(blob.digest)
        return min(path.stat().st_size, blob.size) if path.is_file() else 0

    def _fetch(self, blob: Descriptor, result: ImageTransferResult) -> None:
        try:
            self.download_blob(blob, result)
            result.record(BlobOutcome(blob.digest, blob.size, TRANSFERRED))
        except TransferStopped:
            pass
        except (RegistryError, OSError) as err:
            if is_refusal(err):
                self.stop.set()
                raise
            result.record(BlobOutcome(blob.digest, blob.size, FAILED, describe(err)))

    def download_blob(self, blob: Descriptor, result: ImageTransferResult) -> None:
        """Fetch one blob into place, continuing its partial file; transport failures are retried."""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                return self._download_once(blob, result)
            except (httpx.TransportError, RegistryError) as err:
                if not is_retryable(err):
                    raise
                if attempt == DOWNLOAD_ATTEMPTS or self.stop.is_set():
                    raise ConnectionFailedError(f"Download of {blob.digest} failed: {describe(err)}") from err
                if self.stop.wait(0.5 * 2 ** (attempt - 1)):
                    raise TransferStopped() from err

    def _download_once(self, blob: Descriptor, result: ImageTransferResult) -> None:
        partial = self.layout.prepare(blob.digest)
        hasher, start = resume_state(partial, blob)
        if start < blob.size:
            hasher = self._stream_into(partial, blob, hasher, start, result)
        self._verify(blob, partial, hasher)
        self.layout.commit(blob.digest)

    def _stream_into(self, partial, blob: Descriptor, hasher, start: int, result: ImageTransferResult):
        """Append the blob's bytes from `start` to the partial file; the hasher fed with all of them."""
        with self.client.open_blob(self.ref.repository, blob.digest, start) as response:
            if start and response.status_code != 206:  # the server sent the whole blob: start over
                self.progress.advance(-start)
                hasher, start = new_hasher(blob.digest), 0
            with open(partial, "ab" if start else "wb") as stream:
                for data in response.iter_bytes():
                    if self.stop.is_set():
                        raise TransferStopped()
                    hasher.update(data)
                    stream.write(data)
                    self.progress.advance(len(data))
                    result.add_bytes(len(data))
        return hasher

    def _verify(self, blob: Descriptor, partial, hasher) -> None:
        size = partial.stat().st_size
        actual = f"{blob.digest.partition(':')[0]}:{hasher.hexdigest()}"
        if size != blob.size or actual != blob.digest:
            partial.unlink(missing_ok=True)
            self.progress.advance(-size)
            raise IntegrityError(f"Blob {blob.digest} arrived with {size} bytes and digest {actual}; it was "
                                 "discarded.")


def parse_json_object(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def describe(err: Exception) -> str:
    return getattr(err, "message", None) or str(err) or type(err).__name__


def resume_state(partial, blob: Descriptor):
    """(hasher fed with what the partial file holds, its size); a partial longer than the blob is dropped."""
    hasher = new_hasher(blob.digest)
    if not partial.is_file():
        return hasher, 0
    size = partial.stat().st_size
    if size <= blob.size:
        with open(partial, "rb") as stream:
            while data := stream.read(HASH_READ_SIZE):
                hasher.update(data)
        if size < blob.size or f"{blob.digest.partition(':')[0]}:{hasher.hexdigest()}" == blob.digest:
            return hasher, size
    partial.unlink()
    return new_hasher(blob.digest), 0
