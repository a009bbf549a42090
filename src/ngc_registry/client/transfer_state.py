"""What an interrupted transfer leaves behind so that the same command, run again, continues it.

Download: `<version dir>/.ngc-partial/<id>.part` (the bytes, written in place with pwrite) and `<id>.json`
(how many bytes of each 512 MiB range are on disk). Upload: one JSON file per source file in
`$NGC_CLI_HOME/.ngc/transfer-caches/<sha256 of target and path>` (digest, upload id, parts already sent).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .transfer_plan import PARTIAL_DIR, ByteRange, split_ranges

SAVE_INTERVAL_SECONDS = 0.5
SAVE_INTERVAL_BYTES = 16 * 1024 * 1024


def write_json_atomically(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path)


def remove_state_file(path: Path) -> None:
    """A state file, and the temporary copies that a run killed between write and rename left beside it."""
    path.unlink(missing_ok=True)
    for stray in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stray.unlink(missing_ok=True)


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class PartialDownload:
    """One file being downloaded: its partial bytes and the progress of each range, safe to share across threads."""

    def __init__(self, version_dir: Path, path: str, size: int, sha256: str | None, range_size: int):
        self.path, self.size, self.sha256 = path, size, sha256
        self.ranges = split_ranges(size, range_size)
        key = hashlib.sha256(path.encode()).hexdigest()[:32]
        self.data_path = version_dir / PARTIAL_DIR / f"{key}.part"
        self.state_path = version_dir / PARTIAL_DIR / f"{key}.json"
        self.written: dict[int, int] = {}
        self._lock = threading.Lock()
        self._saved_at = 0.0
        self._unsaved = 0

    def load(self) -> None:
        """Take over what an earlier run wrote, if it was for the same file; start afresh otherwise."""
        state = read_json(self.state_path)
        same = state is not None and [state.get(k) for k in ("path", "size", "sha256")] == [self.path, self.size,
                                                                                           self.sha256]
        if same and self.data_path.is_file():
            self.written = {int(start): int(count) for start, count in (state.get("written") or {}).items()}
        else:
            self.written = {}
            self.data_path.unlink(missing_ok=True)

    @property
    def bytes_on_disk(self) -> int:
        return sum(self.written.values())

    def remaining_ranges(self) -> list[tuple[int, ByteRange]]:
        """(range start, bytes still to fetch) for every range that is not complete."""
        todo = []
        for start, end in self.ranges:
            resume_at = start + self.written.get(start, 0)
            if resume_at < end:
                todo.append((start, (resume_at, end)))
        return todo

    def open_for_writing(self) -> int:
        self.data_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_path, os.O_RDWR | os.O_CREAT, 0o644)
        if os.fstat(fd).st_size != self.size:
            os.ftruncate(fd, self.size)
        return fd

    def record(self, range_start: int, written: int, force: bool = False) -> None:
        """Note progress; saved every half second or 16 MiB, so a killed run loses at most that much."""
        with self._lock:
            self._unsaved += written - self.written.get(range_start, 0)
            self.written[range_start] = written
            now = time.monotonic()
            if force or now - self._saved_at >= SAVE_INTERVAL_SECONDS or self._unsaved >= SAVE_INTERVAL_BYTES:
                self._save()

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        self._saved_at, self._unsaved = time.monotonic(), 0
        write_json_atomically(self.state_path, {"path": self.path, "size": self.size, "sha256": self.sha256,
                                                "written": {str(k): v for k, v in self.written.items()}})

    def discard(self) -> None:
        self.data_path.unlink(missing_ok=True)
        remove_state_file(self.state_path)

    def forget_state(self) -> None:
        remove_state_file(self.state_path)


@dataclass
class UploadRecord:
    """What is known of one source file's upload: enough to send only the missing parts on a rerun."""

    size: int
    mtime_ns: int
    sha256: str
    upload_id: str | None = None
    part_size: int | None = None
    parts_done: list[int] = field(default_factory=list)


def upload_state_path(cache_dir: Path, target: str, source_file: Path) -> Path:
    key = hashlib.sha256(f"{target}\n{source_file.resolve()}".encode()).hexdigest()
    return cache_dir / key


class UploadState:
    """The state file of one source file; `parts_done` is saved after every part."""

    def __init__(self, path: Path):
        self.path = path
        self.record: UploadRecord | None = None
        self._lock = threading.Lock()

    def load(self, size: int, mtime_ns: int) -> UploadRecord | None:
        """The saved record if the file is unchanged since it was written, else None (and the file goes)."""
        data = read_json(self.path)
        try:
            record = UploadRecord(**data) if data else None
        except TypeError:
            record = None
        if record is None or (record.size, record.mtime_ns) != (size, mtime_ns):
            self.path.unlink(missing_ok=True)
            return None
        self.record = record
        return record

    def save(self, record: UploadRecord) -> None:
        with self._lock:
            self.record = record
            write_json_atomically(self.path, asdict(record))

    def add_part(self, number: int) -> None:
        with self._lock:
            if self.record is not None and number not in self.record.parts_done:
                self.record.parts_done.append(number)
                write_json_atomically(self.path, asdict(self.record))

    def remove(self) -> None:
        remove_state_file(self.path)
