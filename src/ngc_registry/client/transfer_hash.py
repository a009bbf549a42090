"""sha256 of a file that parallel ranges write out of order, computed while they write it.

A thread follows the contiguous prefix of the file as it grows and hashes it, reading it back from the page cache
(cheap next to the hashing itself). When the last range lands only its tail is left, so checking a 2 GiB file no
longer costs a second full pass after the download (about 1 s of one core, and more while the disk is flushing).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from .transfer_plan import READ_SIZE, b64_digest
from .transfer_state import PartialDownload

FOLLOW_READ = 4 * READ_SIZE
IDLE_WAIT_SECONDS = 0.05


class HashFollower:
    """Hashes `partial.data_path` from byte 0 up to what the ranges have written, until the whole file is hashed."""

    def __init__(self, partial: PartialDownload):
        self.partial = partial
        self._hasher = hashlib.sha256()
        self._position = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="transfer-hash", daemon=True)

    def start(self) -> HashFollower:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def digest(self) -> str:
        """The file's sha256 (base64) once every range is written; hashes whatever the thread has not reached."""
        self.stop()
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._follow(self.partial.size)
        return b64_digest(self._hasher)

    def contiguous(self) -> int:
        """How many bytes from the start of the file are written."""
        for start, end in self.partial.ranges:
            reached = start + self.partial.written.get(start, 0)
            if reached < end:
                return reached
        return self.partial.size

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and self._position < self.partial.size:
                if not self._follow(self.contiguous()):
                    self._wake.wait(IDLE_WAIT_SECONDS)
                    self._wake.clear()
        except OSError as err:
            self._error = err

    def _follow(self, limit: int) -> bool:
        """Hash from the current position up to `limit`; False when there was nothing new."""
        if limit <= self._position:
            return False
        fd = os.open(Path(self.partial.data_path), os.O_RDONLY)
        try:
            while self._position < limit and not (self._stop.is_set() and limit < self.partial.size):
                chunk = os.pread(fd, min(FOLLOW_READ, limit - self._position), self._position)
                if not chunk:
                    raise OSError(f"'{self.partial.data_path}' is shorter than the bytes written to it")
                self._hasher.update(chunk)
                self._position += len(chunk)
        finally:
            os.close(fd)
        return True
