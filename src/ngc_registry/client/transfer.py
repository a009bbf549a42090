"""Download of a model or resource version (PROTOCOL.md §5.1), resumable and verified.

V3 (must be complete) → F1 (sizes, sha256) → F2, or F3 per file when filtered → ranged GETs of at most 512 MiB,
files and ranges in parallel, written with pwrite into `<version dir>/.ngc-partial/` → sha256 check → atomic
rename to `<dest>/<name>_v<version>/<path>`. A rerun skips complete files and continues partial ones.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NotFoundError, RegistryError, TransferFailedError
from ..refs import Target
from .registry_api import ArtifactApi
from .transfer_common import (DEFAULT_WORKERS, NoProgress, PermanentError, Progress, RetryableError, Stopped,
                              TransferResult, TransferTerminated, raise_for_storage_status,
                              retry_attempts, run_tasks, with_retries)
from .transfer_hash import HashFollower
from .transfer_http import READ_BUFFER, StorageClient
from .transfer_plan import (PARTIAL_DIR, RANGE_SIZE, ByteRange, b64_digest, check_relative_path, file_sha256,
                            local_path)
from .transfer_state import PartialDownload

COMPLETE = "UPLOAD_COMPLETE"


@dataclass
class RemoteFile:
    path: str
    size: int
    sha256: str | None = None


def remote_files(entries: list[dict]) -> list[RemoteFile]:
    return [RemoteFile(entry.get("path"), int(entry.get("sizeInBytes") or 0), entry.get("sha256"))
            for entry in entries]


def select_files(files: list[RemoteFile], include: list[str], exclude: list[str]) -> list[RemoteFile]:
    """`--file` keeps paths matching any pattern (all when none); `--exclude` then drops matches."""
    chosen = [f for f in files if not include or any(fnmatch.fnmatch(f.path, pattern) for pattern in include)]
    return [f for f in chosen if not any(fnmatch.fnmatch(f.path, pattern) for pattern in exclude)]


def version_dir_name(target: Target) -> str:
    return f"{target.name}_v{target.version}"


def require_complete(version: dict, target: Target) -> None:
    if version.get("status") != COMPLETE:
        raise TransferFailedError(f"'{target}' is not in state {COMPLETE}.")


@dataclass
class FileJob:
    file: RemoteFile
    final_path: Path
    partial: PartialDownload
    url: str = ""
    fd: int = -1
    ranges_left: int = 0
    failed: bool = False
    done: bool = False
    hasher: object | None = None  # sha256 of the bytes written so far, for a one-range file fetched from byte 0
    follower: HashFollower | None = None  # sha256 of the written prefix, for a file fetched in several ranges
    # Guards ranges_left, and makes the ranges write the file one pwrite at a time: a buffered write holds the
    # file's inode lock (ext4, XFS), and the kernel spins on it for the writers waiting (23% of a 4-range
    # download's CPU, measured), while this lock sleeps.
    lock: threading.Lock = field(default_factory=threading.Lock)


class Download:
    """One download-version run; `run` returns a TransferResult and never raises for a failed file."""

    def __init__(self, api: ArtifactApi, storage: StorageClient, target: Target, dest: Path, *,
                 include: list[str] | None = None, exclude: list[str] | None = None, workers: int = DEFAULT_WORKERS,
                 progress: Progress | None = None, range_size: int = RANGE_SIZE, attempts: int | None = None):
        self.api, self.storage, self.target = api, storage, target
        self.include, self.exclude = include or [], exclude or []
        self.version_dir = dest / version_dir_name(target)
        self.workers, self.range_size = workers, range_size
        self.progress = progress or NoProgress()
        self.attempts = attempts or retry_attempts()
        self.stop = threading.Event()
        self.result = TransferResult("Download", version_dir_name(target), self.version_dir.absolute())

    @property
    def filtered(self) -> bool:
        return bool(self.include or self.exclude)

    def plan(self) -> list[RemoteFile]:
        """V3 and F1: the files this run is about (raises when the version cannot be downloaded)."""
        version = self.api.get_version(self.target).get(self.api.kind.version_key) or {}
        require_complete(version, self.target)
        files = select_files(remote_files(self.api.list_files(self.target)), self.include, self.exclude)
        if not files and self.filtered:
            raise NotFoundError(f"No file of '{self.target}' matches the --file/--exclude patterns.")
        for remote in files:
            check_relative_path(remote.path)
        return files

    def run(self, files: list[RemoteFile]) -> TransferResult:
        self.result.files_total = len(files)
        self.result.bytes_total = sum(f.size for f in files)
        self.version_dir.mkdir(parents=True, exist_ok=True)
        jobs = self._jobs_to_do(files)
        self.progress.start(self.result.bytes_total, self.result.bytes_total - sum(self._left(job) for job in jobs))
        try:
            self._assign_urls(jobs)
            run_tasks([task for job in jobs for task in self._tasks(job)], self.workers, self.stop)
        except KeyboardInterrupt:
            self.result.stopped_by = "interrupt"
        except TransferTerminated:
            self.result.stopped_by = "SIGTERM"
        finally:
            self._close_all(jobs)
            self.progress.finish()
        self._remove_partial_dir_if_empty()
        return self.result.finish()

    @staticmethod
    def _left(job: FileJob) -> int:
        return sum(end - start for _, (start, end) in job.partial.remaining_ranges())

    def _jobs_to_do(self, files: list[RemoteFile]) -> list[FileJob]:
        jobs = []
        for remote in files:
            final_path = local_path(self.version_dir, remote.path)
            if is_complete_copy(final_path, remote):
                self.result.file_done(skipped=True)
                continue
            partial = PartialDownload(self.version_dir, remote.path, remote.size, remote.sha256, self.range_size)
            partial.load()
            jobs.append(FileJob(remote, final_path, partial))
        return jobs

    def _assign_urls(self, jobs: list[FileJob]) -> None:
        if not jobs:
            return
        if self.filtered:
            for job in jobs:
                job.url = self.api.download_url(self.target, job.file.path)
            return
        urls = self.api.download_urls(self.target)
        for job in jobs:
            job.url = urls.get(job.file.path, "")

    def _tasks(self, job: FileJob) -> list:
        if not job.url and job.file.size:
            self._fail(job, "the server gave no download URL for this file")
            return []
        try:
            job.fd = job.partial.open_for_writing()
        except OSError as err:
            self._fail(job, f"cannot write {job.partial.data_path}: {err.strerror or err}")
            return []
        remaining = job.partial.remaining_ranges()
        job.ranges_left = len(remaining)
        if len(job.partial.ranges) == 1 and job.partial.bytes_on_disk == 0 and job.file.sha256:
            job.hasher = hashlib.sha256()
        elif job.file.sha256 and remaining:
            job.follower = HashFollower(job.partial).start()
        if not remaining:
            return [lambda: self._finish_file(job)]
        return [lambda start=start, span=span: self._fetch_range(job, start, span) for start, span in remaining]

    # -- workers --------------------------------------------------------------------------------------------

    def _fetch_range(self, job: FileJob, range_start: int, span: ByteRange) -> None:
        if job.failed or self.stop.is_set():
            return
        end = span[1]
        try:
            with_retries(lambda: self._get_into(job, range_start, end), lambda: self._refresh_url(job),
                         self.attempts, self.stop)
        except Stopped:
            job.partial.save()
            return
        except (PermanentError, RegistryError) as err:
            job.partial.save()
            return self._fail(job, str(err))
        except OSError as err:
            job.partial.save()
            return self._fail(job, disk_error(err, job))
        with job.lock:
            job.ranges_left -= 1
            last = job.ranges_left == 0
        if last:
            self._finish_file(job)

    def _get_into(self, job: FileJob, range_start: int, end: int) -> None:
        offset = range_start + job.partial.written.get(range_start, 0)
        with self.storage.get(job.url, {"Range": f"bytes={offset}-{end - 1}"}) as response:
            raise_for_storage_status(response.status, response.text() if response.status >= 300 else "",
                                     f"download of '{job.file.path}'")
            position = offset if response.status == 206 else 0
            buffer = memoryview(bytearray(READ_BUFFER))
            while position < end:
                if self.stop.is_set():
                    raise Stopped()
                received = response.readinto(buffer)
                if not received:
                    break
                position = self._write_chunk(job, range_start, offset, end, position, buffer[:received])
        if position < end:
            raise RetryableError(f"download of '{job.file.path}': the connection closed early")

    def _write_chunk(self, job: FileJob, range_start: int, offset: int, end: int, position: int,
                     chunk: memoryview) -> int:
        """Write the part of `chunk` that falls in [offset, end); return the stream position after it."""
        skip = max(offset - position, 0)  # only when the server ignored Range and sent the file from byte 0
        useful = chunk[skip:max(end - position, 0)]
        write_at = position + skip
        while useful:
            with job.lock:
                written = pwrite_in_pieces(job.fd, useful, write_at)
            if job.hasher is not None:
                job.hasher.update(useful[:written])
            useful, write_at = useful[written:], write_at + written
            job.partial.record(range_start, write_at - range_start)
            if job.follower is not None:
                job.follower.wake()
            self.result.add_bytes(written)
            self.progress.advance(written)
        return position + len(chunk)

    def _refresh_url(self, job: FileJob) -> None:
        job.url = self.api.download_url(self.target, job.file.path) or job.url

    def _finish_file(self, job: FileJob) -> None:
        """All bytes are on disk: make them durable, check the digest, move the file into place."""
        try:
            os.fdatasync(job.fd)
            job.partial.save()
            if job.file.sha256 and self._digest(job) != job.file.sha256:
                job.partial.discard()
                return self._fail(job, "the downloaded bytes do not match the file's sha256 (removed; run again)")
            job.final_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(job.partial.data_path, job.final_path)
            job.partial.forget_state()
        except OSError as err:
            return self._fail(job, disk_error(err, job))
        job.done = True
        self.result.file_done()

    @staticmethod
    def _digest(job: FileJob) -> str:
        """Hashed while written: inline for one range, by the follower thread for several; else read back."""
        if job.hasher is not None:
            return b64_digest(job.hasher)
        if job.follower is not None:
            return job.follower.digest()
        return file_sha256(job.partial.data_path)

    def _fail(self, job: FileJob, reason: str) -> None:
        job.failed = True
        self.result.fail(job.file.path, reason)

    def _close_all(self, jobs: list[FileJob]) -> None:
        for job in jobs:
            if job.follower is not None:
                job.follower.stop()
            if job.fd >= 0:
                os.close(job.fd)
                job.fd = -1
            if not job.done and job.partial.data_path.exists():
                job.partial.save()

    def _remove_partial_dir_if_empty(self) -> None:
        partial_dir = self.version_dir / PARTIAL_DIR
        if partial_dir.is_dir() and not any(partial_dir.iterdir()):
            shutil.rmtree(partial_dir, ignore_errors=True)


# Written in pieces of 16 KiB, as curl writes: one write of 1 MiB makes the kernel allocate a 1 MiB page-cache folio,
# taken from the free blocks a VM's balloon has handed back to the host, which faults every page of it in again.
# A 2 GiB download on this project's bench VM: 6.0-9.8 s in 1 MiB writes, 4.4-4.5 s in 16 KiB ones (curl 4.7-4.8 s).
WRITE_PIECE = 16 * 1024


def pwrite_in_pieces(fd: int, data: memoryview, offset: int) -> int:
    """`os.pwrite` of `data` at `offset`, WRITE_PIECE bytes at a time; returns the bytes written (fewer than asked
    only when a pwrite wrote less, as a full disk does before it fails)."""
    for start in range(0, len(data), WRITE_PIECE):
        piece = data[start:start + WRITE_PIECE]
        written = os.pwrite(fd, piece, offset + start)
        if written < len(piece):
            return start + written
    return len(data)


def is_complete_copy(path: Path, remote: RemoteFile) -> bool:
    """A file from an earlier run that needs nothing more: right size and, when known, right sha256."""
    try:
        if not path.is_file() or path.stat().st_size != remote.size:
            return False
        return not remote.sha256 or file_sha256(path) == remote.sha256
    except OSError:
        return False


def disk_error(err: OSError, job: FileJob) -> str:
    if err.errno == 28:  # ENOSPC
        return "no space left on device; the partial file is kept: free space and run the command again"
    return f"cannot write '{job.file.path}': {err.strerror or err}"
