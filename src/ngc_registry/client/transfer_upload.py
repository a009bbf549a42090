"""Upload of a model or resource version (PROTOCOL.md §5.2, storage V2), resumable and deduplicated.

V2 (409 → V3: complete is an error, pending is resumed) → then per file, pipelined: sha256 (HASH_WORKERS threads)
→ H1, and files the server has are not sent → P1 (on a rerun with the saved uploadID and only the missing parts)
→ its part PUTs, on the other workers while later files are still being hashed → P2. Then C1 (≤ 4000 per call)
→ V4 UPLOAD_COMPLETE → V3. H1 asks for every file hashed while the previous H1 was under way, in one call.
"""

from __future__ import annotations

import hashlib
import os
import threading
from stat import S_ISREG
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AlreadyExistsError, BadRequestError, ConfigError, NotFoundError, RegistryError
from ..refs import Target
from .registry_api import HASH_CHECK_BATCH, ArtifactApi
from .transfer_common import (DEFAULT_WORKERS, NoProgress, PermanentError, Progress, Stopped,
                              TransferResult, TransferTerminated, raise_for_storage_status, retry_attempts,
                              run_tasks, task_pool, with_retries)
from .transfer_http import FileChangedError, StorageClient
from .transfer_plan import (DEFAULT_PART_SIZE, PARTIAL_DIR, READ_SIZE, b64_digest, part_count, part_range,
                            source_relative_path)
from .transfer_state import UploadRecord, UploadState, upload_state_path

PENDING, COMPLETE = "UPLOAD_PENDING", "UPLOAD_COMPLETE"
HASH_WORKERS = 2  # sha256 is CPU-bound (about a core per thread); the other workers send parts meanwhile


class FileChanged(Exception):
    pass


@dataclass
class SourceFile:
    local: Path
    path: str
    size: int
    mtime_ns: int
    state: UploadState | None = None
    record: UploadRecord | None = None
    urls: dict[int, str] = field(default_factory=dict)
    parts_left: int = 0
    failed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sha256(self) -> str | None:
        return self.record.sha256 if self.record else None

    def check_unchanged(self) -> None:
        stat = self.local.stat()
        if (stat.st_size, stat.st_mtime_ns) != (self.size, self.mtime_ns):
            raise FileChanged(f"'{self.local}' changed while it was being uploaded; run the command again")


def scan_source(source: Path) -> list[SourceFile]:
    """The files under `--source` (or the one file it names) with paths relative to it, each checked readable."""
    if not source.exists():
        raise ConfigError(f"The path: '{source}' does not exist.")
    if source.is_file():
        return [_source_file(source, source.parent)]
    files = []
    for directory, dirnames, filenames in os.walk(source, onerror=_raise):
        if Path(directory) == source and PARTIAL_DIR in dirnames:
            dirnames.remove(PARTIAL_DIR)  # what an interrupted download into this directory left behind
        dirnames.sort()
        for name in sorted(filenames):
            files.append(_source_file(Path(directory) / name, source))
    if not files:
        raise ConfigError(f"There are no files to upload in '{source}'.")
    return files


def _raise(err: OSError) -> None:
    raise ConfigError(f"Cannot read '{err.filename}': {err.strerror or err}.")


def _source_file(local: Path, base: Path) -> SourceFile:
    try:
        stat = local.stat()
        if not S_ISREG(stat.st_mode):
            raise ConfigError(f"Cannot upload '{local}': it is not a regular file.")
        with open(local, "rb"):
            pass
    except OSError as err:
        raise ConfigError(f"Cannot read '{local}': {err.strerror or err}.") from err
    return SourceFile(local, source_relative_path(local.relative_to(base)), stat.st_size, stat.st_mtime_ns)


class Upload:
    """One upload-version run; `open_version` may raise, `run` reports failed files in its result."""

    def __init__(self, api: ArtifactApi, storage: StorageClient, target: Target, source: Path, cache_dir: Path, *,
                 workers: int = DEFAULT_WORKERS, progress: Progress | None = None, attempts: int | None = None,
                 base_version: str | None = None):
        self.api, self.storage, self.target, self.base_version = api, storage, target, base_version
        self.source, self.cache_dir, self.workers = source, cache_dir, workers
        self.progress = progress or NoProgress()
        self.attempts = attempts or retry_attempts(name="NGC_CLI_UPLOAD_RETRIES")
        self.stop = threading.Event()
        self._lock, self._unchecked, self._checking = threading.Lock(), [], False
        self._send = None
        self.result = TransferResult("Upload", f"{target.name}_v{target.version}", source.absolute())

    def open_version(self, body: dict) -> bool:
        """V2; True when a pending version of an earlier run is resumed."""
        try:
            self.api.create_version(self.target, body)
            return False
        except AlreadyExistsError:
            version = self.api.get_version(self.target).get(self.api.kind.version_key) or {}
            if version.get("status") == COMPLETE:
                raise AlreadyExistsError(f"Target '{self.target}' already exists.") from None
            return True

    def run(self, files: list[SourceFile]) -> TransferResult:
        self.result.files_total = len(files)
        self.result.bytes_total = sum(f.size for f in files)
        try:
            self._run_phases(files)
        except KeyboardInterrupt:
            self.result.stopped_by = "interrupt"
        except TransferTerminated:
            self.result.stopped_by = "SIGTERM"
        finally:
            self.progress.finish()
        return self.result.finish()

    def _run_phases(self, files: list[SourceFile]) -> None:
        self.progress.start(self.result.bytes_total, 0)
        with task_pool(self.workers, self.stop) as self._send:
            run_tasks([lambda f=f: self._prepare(f) for f in files], min(HASH_WORKERS, self.workers), self.stop)
        if not self.result.failures and not self.stop.is_set():
            self._commit(files)

    def _prepare(self, source: SourceFile) -> None:
        """Hash the file, then check it against the server unless another thread is checking already: that one
        takes this file too, while this thread goes on hashing the next."""
        self._hash(source)
        with self._lock:
            if not source.failed and not self.stop.is_set():
                self._unchecked.append(source)
            if self._checking:
                return
            self._checking = True
        while batch := self._next_batch():
            self._check_and_send(batch)

    def _next_batch(self) -> list[SourceFile]:
        with self._lock:
            if self.stop.is_set():
                self._unchecked = []
            batch, self._unchecked = self._unchecked[:HASH_CHECK_BATCH], self._unchecked[HASH_CHECK_BATCH:]
            self._checking = bool(batch)
        return batch

    def _check_and_send(self, batch: list[SourceFile]) -> None:
        """H1 for the batch; P1 for each file the server lacks, and its parts queued for sending."""
        try:
            existing = self.api.existing_hashes(self.target, sorted({f.sha256 for f in batch}))
        except RegistryError as err:
            for source in batch:
                self._fail(source, err.message)
            return
        for source in batch:
            if source.sha256 in existing:
                self.result.file_done(skipped=True)
                self.progress.advance(source.size)
                continue
            self._start(source)
            for task in [] if source.failed else self._part_tasks(source):
                self._send(task)

    # -- phases ---------------------------------------------------------------------------------------------

    def _hash(self, source: SourceFile) -> None:
        source.state = UploadState(upload_state_path(self.cache_dir, str(self.target), source.local))
        source.record = source.state.load(source.size, source.mtime_ns)
        if source.record:
            return
        try:
            digest = hash_file(source.local, self.stop)
            source.check_unchanged()
        except Stopped:
            return
        except (OSError, FileChanged) as err:
            return self._fail(source, describe(err))
        source.record = UploadRecord(source.size, source.mtime_ns, digest)
        source.state.save(source.record)

    def _start(self, source: SourceFile) -> None:
        """P1, resuming the saved multipart upload when there is one; fills `source.urls` for the missing parts."""
        record = source.record
        if record.upload_id and record.part_size and not self._missing_parts(record, record.part_size):
            return  # every part was sent by an earlier run: only the completion is left
        try:
            response = self._start_multipart(source, record)
        except RegistryError as err:
            return self._fail(source, err.message)
        part_size = int(response.get("partSize") or record.part_size or DEFAULT_PART_SIZE)
        missing = self._missing_parts(record, part_size)
        urls = response.get("urls") or []
        if len(urls) != len(missing):
            return self._fail(source, f"the server sent {len(urls)} part URLs for {len(missing)} parts")
        record.upload_id, record.part_size = response.get("uploadID"), part_size
        source.state.save(record)
        source.urls = dict(zip(missing, urls))
        self.progress.advance(source.size - sum(self._part_length(source, n) for n in missing))

    def _start_multipart(self, source: SourceFile, record: UploadRecord) -> dict:
        if record.upload_id and record.part_size:
            missing = self._missing_parts(record, record.part_size)
            try:
                return self.api.start_multipart(self.target, source.path, source.size, record.sha256,
                                                record.upload_id, missing)
            except (NotFoundError, BadRequestError):
                pass  # the server no longer knows that upload: start a new one
        record.upload_id, record.part_size, record.parts_done = None, None, []
        return self.api.start_multipart(self.target, source.path, source.size, record.sha256)

    @staticmethod
    def _missing_parts(record: UploadRecord, part_size: int) -> list[int]:
        done = set(record.parts_done)
        return [n for n in range(1, part_count(record.size, part_size) + 1) if n not in done]

    @staticmethod
    def _part_length(source: SourceFile, number: int) -> int:
        start, end = part_range(number, source.size, source.record.part_size)
        return end - start

    def _part_tasks(self, source: SourceFile) -> list:
        source.parts_left = len(source.urls)
        if not source.urls:
            return [lambda: self._complete(source)]
        return [lambda n=number: self._send_part(source, n) for number in sorted(source.urls)]

    def _send_part(self, source: SourceFile, number: int) -> None:
        if source.failed or self.stop.is_set():
            return
        try:
            with_retries(lambda: self._put(source, number), lambda: self._refresh_url(source, number),
                         self.attempts, self.stop)
        except Stopped:
            return
        except (PermanentError, FileChanged, FileChangedError, OSError, RegistryError) as err:
            return self._fail(source, describe(err))
        source.state.add_part(number)
        with source.lock:
            source.parts_left -= 1
            last = source.parts_left == 0
        if last:
            self._complete(source)

    def _put(self, source: SourceFile, number: int) -> None:
        start, end = part_range(number, source.size, source.record.part_size)
        sent = [0]

        def on_sent(nbytes: int) -> None:
            if self.stop.is_set():
                raise Stopped()
            sent[0] += nbytes
            self.progress.advance(nbytes)

        try:
            source.check_unchanged()
            status, text = self.storage.put_file(source.urls[number], source.local, start, end - start, on_sent)
            raise_for_storage_status(status, text, f"upload of part {number} of '{source.path}'")
        except BaseException:
            self.progress.advance(-sent[0])
            raise
        self.result.add_bytes(end - start)

    def _refresh_url(self, source: SourceFile, number: int) -> None:
        record = source.record
        response = self.api.start_multipart(self.target, source.path, source.size, record.sha256,
                                            record.upload_id, [number])
        source.urls[number] = (response.get("urls") or [source.urls[number]])[0]

    def _complete(self, source: SourceFile) -> None:
        """P2, after checking the file is still the one that was hashed."""
        try:
            source.check_unchanged()
            self.api.complete_multipart(self.target, source.path, source.record.upload_id, source.sha256)
        except NotFoundError as err:
            source.state.save(UploadRecord(source.size, source.mtime_ns, source.sha256))  # next run starts afresh
            return self._fail(source, describe(err))
        except (FileChanged, OSError, RegistryError) as err:
            return self._fail(source, describe(err))
        self.result.file_done()

    def _commit(self, files: list[SourceFile]) -> None:
        self.api.commit_files(self.target, [(f.path, f.sha256) for f in files], base_version=self.base_version)
        self.api.update_version(self.target, {"status": COMPLETE})
        version = self.api.get_version(self.target).get(self.api.kind.version_key) or {}
        self.result.version_status = version.get("status")
        for source in files:
            source.state.remove()

    def _fail(self, source: SourceFile, reason: str) -> None:
        source.failed = True
        self.result.fail(source.path, reason)


def hash_file(path: Path, stop: threading.Event) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb", buffering=0) as stream:
        while chunk := stream.read(READ_SIZE):
            if stop.is_set():
                raise Stopped()
            hasher.update(chunk)
    return b64_digest(hasher)


def describe(err: BaseException) -> str:
    if isinstance(err, RegistryError):
        return err.message
    if isinstance(err, OSError):
        return f"cannot read '{err.filename}': {err.strerror or err}"
    return str(err)
