"""The store operations that garbage collection, fsck and backup rely on; every storage driver provides them.

They name blobs by digest only (never by path), so an object store can answer them with its own listing,
HEAD, GET and DELETE calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol


class MissingPartsError(Exception):
    """An upload completed before all its parts arrived."""

    def __init__(self, missing: list[int]):
        super().__init__(f"missing parts {missing[:20]}")
        self.missing = missing


@dataclass(frozen=True)
class StoredBlob:
    digest: str
    size: int
    modified: float  # seconds since the epoch


class MaintainedStore(Protocol):
    def list_blobs(self) -> Iterator[StoredBlob]:
        """Every blob in the store, in no particular order."""

    def blob_size(self, digest: str) -> int | None:
        """The blob's size, or None when it is not in the store."""

    def open_blob(self, digest: str) -> BinaryIO:
        """The blob's bytes, to read from the start (FileNotFoundError when absent)."""

    def delete_blob(self, digest: str) -> None:
        """Remove the blob; removing one that is absent is not an error."""

    def temp_writer(self):
        """A HashingWriter for new content, published with `promote`."""

    def promote(self, source, digest: str) -> None:
        """Publish verified content (a writer's `path`: a file, or an object key) under its digest."""

    def list_uploads(self) -> Iterator[tuple[str, float]]:
        """Upload areas by upload id, with the time each last changed."""

    def drop_upload(self, upload_id: str) -> None:
        """Remove an upload's parts."""

    def list_temp(self) -> Iterator[tuple[str, float, int]]:
        """Temporary objects: name, modification time, size."""

    def delete_temp(self, name: str) -> None:
        """Remove one temporary object."""

    def ping(self) -> None:
        """Raise OSError unless the store can be reached and written."""
