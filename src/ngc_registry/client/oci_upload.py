"""Blob uploads of the OCI distribution API: cross-repository mount, monolithic PUT, chunked PATCH + Content-Range.

A blob is read straight from where it lies (`BlobLocation`: a file, or a member of an uncompressed tar), a
megabyte at a time, so memory stays flat whatever its size. A chunked upload that fails half-way asks the
registry how much it holds (`GET` of the upload, `Range: 0-<end>`) and continues from there.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..errors import RangeNotSatisfiableError, RegistryError
from .oci import OciClient, name_path, push_scope
from .oci_transfer import TransferStopped, is_retryable

DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024
READ_SIZE = 1024 * 1024
UPLOAD_ATTEMPTS = 4
_RANGE_RE = re.compile(r"^(?:bytes=)?([0-9]+)-([0-9]+)\Z")

PUSHED, MOUNTED = "pushed", "mounted"


@dataclass(frozen=True)
class BlobLocation:
    """Where a blob's bytes are: `size` bytes of `path` from byte `offset`."""

    path: Path
    offset: int
    size: int


def content_range(start: int, length: int) -> str:
    """The OCI `Content-Range` of a chunk: inclusive `<start>-<end>`, no unit."""
    if length <= 0:
        raise ValueError("a chunk holds at least one byte")
    return f"{start}-{start + length - 1}"


def chunk_spans(size: int, chunk_size: int, start: int = 0) -> list[tuple[int, int]]:
    """(start, length) of each chunk from `start` to the end of a `size`-byte blob."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be > 0")
    return [(offset, min(chunk_size, size - offset)) for offset in range(start, size, chunk_size)]


def next_offset(range_header: str | None) -> int:
    """The first byte the registry still needs, from an upload's `Range: 0-<end>` (none or unparsable: 0)."""
    match = _RANGE_RE.match((range_header or "").strip())
    return int(match.group(2)) + 1 if match else 0


def read_span(location: BlobLocation, start: int, length: int, on_bytes: Callable[[int], None],
              stop: threading.Event) -> Iterator[bytes]:
    """The bytes [start, start+length) of a blob, a megabyte at a time."""
    with open(location.path, "rb") as stream:
        stream.seek(location.offset + start)
        remaining = length
        while remaining > 0:
            if stop.is_set():
                raise TransferStopped()
            data = stream.read(min(READ_SIZE, remaining))
            if not data:
                raise OSError(f"'{location.path}' ended before the blob did (truncated source?)")
            remaining -= len(data)
            on_bytes(len(data))
            yield data


@dataclass
class _Progress:
    """One blob's upload: the current upload URL and the bytes reported so far."""

    url: str | None = None
    counted: int = 0


class BlobUploader:
    """Uploads blobs into one repository; `on_bytes` is told of every byte sent (negative when resent)."""

    def __init__(self, client: OciClient, repository: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 on_bytes: Callable[[int], None] = lambda n: None, stop: threading.Event | None = None):
        self.client = client
        self.repository = repository
        self.chunk_size = max(int(chunk_size), 1)
        self.on_bytes = on_bytes
        self.stop = stop or threading.Event()

    def upload(self, digest: str, location: BlobLocation, mount_from: str | None = None) -> str:
        """PUSHED or MOUNTED; retries what a new attempt may fix, resuming a chunked upload where it stopped."""
        state, offset = _Progress(), 0
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                if state.url is None:
                    state.url = self.start(digest, mount_from)
                    if state.url is None:
                        return MOUNTED
                self._send_from(state, digest, location, offset)
                return PUSHED
            except TransferStopped:
                raise
            except Exception as err:
                if attempt == UPLOAD_ATTEMPTS or self.stop.is_set() or not is_retryable(err):
                    raise
                offset = self._resume_point(state, location)
                self._rewind(state, offset)
                if self.stop.wait(0.5 * 2 ** (attempt - 1)):
                    raise TransferStopped() from err
        raise AssertionError("unreachable")

    def start(self, digest: str, mount_from: str | None = None) -> str | None:
        """POST an upload, asking to mount the blob; None when mounted (201), else the upload's URL."""
        params = {"mount": digest, **({"from": mount_from} if mount_from else {})}
        response = self.client.request("POST", f"{name_path(self.repository)}/blobs/uploads/",
                                       push_scope(self.repository, mount_from), ok=(201, 202), params=params,
                                       headers={"Content-Length": "0"})
        if response.status_code == 201:
            return None
        return self._location(response)

    def _send_from(self, state: _Progress, digest: str, location: BlobLocation, offset: int) -> None:
        """Send the bytes from `offset` on, then close the upload with the digest."""
        if offset == 0 and location.size <= self.chunk_size:
            return self.put_whole(state, digest, location)
        for start, length in chunk_spans(location.size, self.chunk_size, offset):
            state.url = self.patch_chunk(state, location, start, length)
        self.finish(state.url, digest)

    def _reader(self, state: _Progress, location: BlobLocation, start: int, length: int):
        def count(nbytes: int) -> None:
            state.counted += nbytes
            self.on_bytes(nbytes)

        return lambda: read_span(location, start, length, count, self.stop)

    def put_whole(self, state: _Progress, digest: str, location: BlobLocation) -> None:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(location.size)}
        self.client.request("PUT", with_digest(self.client.url(state.url), digest), push_scope(self.repository),
                            ok=(201, 204), headers=headers, content=self._reader(state, location, 0, location.size))

    def patch_chunk(self, state: _Progress, location: BlobLocation, start: int, length: int) -> str:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length),
                   "Content-Range": content_range(start, length)}
        response = self.client.request("PATCH", state.url, push_scope(self.repository), ok=(202, 204),
                                       headers=headers, content=self._reader(state, location, start, length))
        held = next_offset(response.headers.get("Range"))
        if response.headers.get("Range") and held != start + length:
            raise RangeNotSatisfiableError(f"The registry holds {held} bytes after a chunk ending at {start + length}.")
        return self._location(response, state.url)

    def finish(self, url: str, digest: str) -> None:
        self.client.request("PUT", with_digest(self.client.url(url), digest), push_scope(self.repository),
                            ok=(201, 204), headers={"Content-Length": "0"})

    def upload_status(self, url: str) -> tuple[str, int]:
        """(url, bytes held) of an open upload."""
        response = self.client.request("GET", url, push_scope(self.repository), ok=(200, 204))
        return self._location(response, url), next_offset(response.headers.get("Range"))

    def cancel(self, url: str) -> None:
        self.client.request("DELETE", url, push_scope(self.repository), ok=(200, 202, 204, 404))

    def _resume_point(self, state: _Progress, location: BlobLocation) -> int:
        """The offset to go on from: the registry's, for a chunked upload it still has; else 0 in a new upload."""
        if state.url is not None and location.size > self.chunk_size:
            with contextlib.suppress(RegistryError, httpx.TransportError):  # the upload is gone: begin again
                state.url, held = self.upload_status(state.url)
                if held > 1:  # `Range: 0-0` may mean 0 or 1 byte: then a new upload is the safe choice
                    return held
        state.url = None
        return 0

    def _rewind(self, state: _Progress, offset: int) -> None:
        self.on_bytes(offset - state.counted)
        state.counted = offset

    def _location(self, response, fallback: str | None = None) -> str:
        location = response.headers.get("Location") or fallback
        if not location:
            raise RegistryError("The registry did not say where to send the blob (no Location header).")
        return location


def with_digest(url: str, digest: str) -> str:
    return str(httpx.URL(url).copy_merge_params({"digest": digest}))
