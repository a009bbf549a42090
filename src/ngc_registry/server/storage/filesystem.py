"""The filesystem layout: verified blobs by digest, upload parts by upload id, temporary files beside them."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .maintenance import StoredBlob

WRITE_BUFFER = 1 << 20
_BLOB_NAME = {"sha256": re.compile(r"^[a-f0-9]{64}$"), "sha512": re.compile(r"^[a-f0-9]{128}$")}


class HashingWriter:
    """Writes a stream to a temporary file while hashing it; `finish` makes it durable and returns the digest."""

    def __init__(self, path: Path):
        self.path = path
        self.size = 0
        self._hash = hashlib.sha256()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "wb", buffering=0)

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def finish(self) -> str:
        os.fdatasync(self._file.fileno())
        self._file.close()
        return "sha256:" + self._hash.hexdigest()

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def _entries_with_stat(directory: Path):
    """Regular files of a directory with their stat; files that vanish meanwhile (renamed, deleted) are skipped."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.is_file():
                yield entry, entry.stat()
        except FileNotFoundError:
            continue


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemStore:
    presigns = False  # transfers go through the server's own signed /_storage/ URLs
    min_part_size = 1

    def __init__(self, root: Path):
        self.root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / algorithm / hexdigest[:2] / hexdigest

    def local_path(self, digest: str) -> Path:
        return self.blob_path(digest)

    def download_url(self, digest: str, filename: str | None, ttl: int) -> None:
        return None

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def temp_writer(self) -> HashingWriter:
        return HashingWriter(self.root / "tmp" / uuid.uuid4().hex)

    def part_path(self, upload_id: str, number: int) -> Path:
        return self.root / "uploads" / upload_id / f"part-{number:05d}"

    def part_writer(self, upload_id: str, number: int) -> HashingWriter:
        return HashingWriter(self.part_path(upload_id, number).with_suffix(f".{uuid.uuid4().hex}.tmp"))

    def chunk_writer(self, upload_id: str, number: int, offset: int) -> HashingWriter:
        return self.part_writer(upload_id, number)

    def keep_part(self, writer: HashingWriter, upload_id: str, number: int) -> None:
        os.replace(writer.path, self.part_path(upload_id, number))

    def promote(self, source: Path, digest: str) -> None:
        """Move a verified file into the store under its digest (the one atomic step that publishes bytes)."""
        target = self.blob_path(digest)
        if target.exists():
            source.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        _fsync_dir(target.parent)

    def concatenate_parts(self, upload_id: str, count: int) -> tuple[Path, str, int]:
        """Join parts 1..count into one temporary file, hashing as it goes."""
        writer = self.temp_writer()
        try:
            for number in range(1, count + 1):
                with open(self.part_path(upload_id, number), "rb") as part:
                    while chunk := part.read(WRITE_BUFFER * 4):
                        writer.write(chunk)
            return writer.path, writer.finish(), writer.size
        except BaseException:
            writer.discard()
            raise

    def upload_chunks(self, upload_id: str, count: int, sha256: str | None, size: int = 0) -> tuple[Path, str, int]:
        """An OCI upload's chunks (parts 1..count) as one file: the single part itself when its digest is known."""
        if count == 1 and sha256:
            path = self.part_path(upload_id, 1)
            return path, sha256, path.stat().st_size
        if count == 0:
            writer = self.temp_writer()
            return writer.path, writer.finish(), 0
        return self.concatenate_parts(upload_id, count)

    @staticmethod
    def delete_source(source: Path) -> None:
        source.unlink(missing_ok=True)

    @staticmethod
    def digest_file(path: Path, algorithm: str) -> str:
        """A second pass over a file, for digests other than the sha256 computed while it streamed in."""
        hasher = hashlib.new(algorithm)
        with open(path, "rb") as source:
            while chunk := source.read(WRITE_BUFFER * 4):
                hasher.update(chunk)
        return f"{algorithm}:{hasher.hexdigest()}"

    def drop_upload(self, upload_id: str) -> None:
        shutil.rmtree(self.root / "uploads" / upload_id, ignore_errors=True)

    def delete_blob(self, digest: str) -> None:
        self.blob_path(digest).unlink(missing_ok=True)

    # -- what garbage collection, fsck and backup use (storage/maintenance.py) --------------------------------

    def list_blobs(self) -> Iterator[StoredBlob]:
        for algorithm, name_pattern in _BLOB_NAME.items():
            for prefix in _subdirectories(self.root / algorithm):
                for entry, info in _entries_with_stat(prefix):
                    if name_pattern.match(entry.name) and entry.name[:2] == prefix.name:
                        yield StoredBlob(f"{algorithm}:{entry.name}", info.st_size, info.st_mtime)

    def blob_size(self, digest: str) -> int | None:
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def open_blob(self, digest: str) -> BinaryIO:
        return open(self.blob_path(digest), "rb")

    def read_range(self, digest: str, start: int, end: int) -> bytes:
        """Bytes start..end (inclusive) of a blob."""
        with open(self.blob_path(digest), "rb") as source:
            source.seek(start)
            return source.read(end - start + 1)

    def list_uploads(self) -> Iterator[tuple[str, float]]:
        """Upload areas (one per upload id) with the time they last changed."""
        for path in _subdirectories(self.root / "uploads"):
            try:
                yield path.name, path.stat().st_mtime
            except FileNotFoundError:  # completed or cancelled while we looked
                continue

    def list_temp(self) -> Iterator[tuple[str, float, int]]:
        """Temporary files (name, modification time, size): writes in progress, or left by a crash."""
        for entry, info in _entries_with_stat(self.root / "tmp"):
            yield entry.name, info.st_mtime, info.st_size

    def delete_temp(self, name: str) -> None:
        (self.root / "tmp" / name).unlink(missing_ok=True)

    def ping(self) -> None:
        """Raise OSError unless the store can be written."""
        if not os.access(self.root / "tmp", os.W_OK | os.X_OK):
            raise OSError(f"the blob store {self.root} is not writable")


def _subdirectories(path: Path) -> list[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(path) if entry.is_dir()]
    except FileNotFoundError:
        return []
