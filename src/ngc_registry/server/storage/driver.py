"""What services and routes need of a blob store, beyond maintenance: the filesystem and S3 drivers provide it.

Content is named by digest; content being written is named by the opaque `path` of its writer (a file for the
filesystem, an object key for S3), which only the store that made it interprets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .maintenance import MaintainedStore


class BlobWriter(Protocol):
    path: object
    size: int

    def write(self, data: bytes) -> None: ...

    def finish(self) -> str:
        """Make the content durable; its sha256 digest."""

    def discard(self) -> None: ...


class BlobStore(MaintainedStore, Protocol):
    presigns: bool  # True: clients move bytes straight to the store through presigned URLs
    min_part_size: int

    def has_blob(self, digest: str) -> bool: ...

    def local_path(self, digest: str) -> Path | None:
        """The blob's file, for stores on a local directory (served with sendfile and ranges)."""

    def download_url(self, digest: str, filename: str | None, ttl: int) -> str | None:
        """A presigned GET URL of the store; None: the server signs its own /_storage/ URL."""

    def read_range(self, digest: str, start: int, end: int) -> bytes: ...

    def digest_file(self, source, algorithm: str) -> str: ...

    def delete_source(self, source) -> None: ...

    def chunk_writer(self, upload_id: str, number: int, offset: int) -> BlobWriter:
        """An OCI upload's next chunk (part `number`, starting at byte `offset`)."""

    def keep_part(self, writer: BlobWriter, upload_id: str, number: int) -> None: ...

    def upload_chunks(self, upload_id: str, count: int, sha256: str | None, size: int = 0) -> tuple[object, str, int]:
        """An OCI upload's chunks as one piece of content: (source, sha256, size)."""
