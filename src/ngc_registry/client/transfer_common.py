"""What downloads and uploads share: the storage client for signed URLs, the result, stopping, the worker pool."""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..errors import EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_TRANSFER_FAILED
from .transfer_http import StorageConnectionError

DEFAULT_WORKERS = 8
DEFAULT_ATTEMPTS = 5


class TransferTerminated(Exception):
    """Raised in the main thread by the SIGTERM handler the CLI installs around a transfer."""


class Stopped(Exception):
    """Raised inside a worker when the transfer is being stopped."""


class RetryableError(Exception):
    """A storage request that may work when sent again; `expired` asks for a fresh URL first."""

    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired


class Progress(Protocol):
    def start(self, total_bytes: int, done_bytes: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, total_bytes: int, done_bytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class TransferResult:
    """What a transfer did, for the summary block and the exit code."""

    direction: str  # "Download" | "Upload"
    transfer_id: str
    local_path: Path
    started: datetime = field(default_factory=datetime.now)
    completed: datetime | None = None
    files_total: int = 0
    files_done: int = 0
    files_skipped: int = 0
    bytes_total: int = 0
    bytes_transferred: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    stopped_by: str | None = None  # "SIGTERM" | "interrupt"
    version_status: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_bytes(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_transferred += nbytes

    def file_done(self, skipped: bool = False) -> None:
        with self._lock:
            self.files_done += 1
            self.files_skipped += int(skipped)

    def fail(self, path: str, reason: str) -> None:
        with self._lock:
            self.failures.setdefault(path, reason)

    def finish(self) -> TransferResult:
        self.completed = datetime.now()
        return self

    @property
    def seconds(self) -> float:
        return ((self.completed or datetime.now()) - self.started).total_seconds()

    @property
    def status(self) -> str:
        if self.stopped_by:
            return "Terminated"
        if not self.failures:
            return "Completed"
        return "Incomplete" if self.files_done else "Failed"

    @property
    def exit_code(self) -> int:
        if self.stopped_by:
            return EXIT_INTERRUPTED if self.stopped_by == "interrupt" else EXIT_TERMINATED
        if not self.failures:
            return EXIT_OK
        return EXIT_INCOMPLETE if self.files_done else EXIT_TRANSFER_FAILED


def raise_for_storage_status(status: int, text: str, what: str) -> None:
    """2xx passes; 403 is an expired or refused URL; 5xx/429 may pass on a retry; other 4xx fail for good."""
    if status < 300:
        return
    detail = f": {' '.join(text.split())[:200]}" if text.strip() else ""
    if status == 403:
        raise RetryableError(f"{what}: the storage URL was refused or has expired (HTTP 403){detail}", expired=True)
    if status >= 500 or status in (408, 429):
        raise RetryableError(f"{what}: HTTP {status}{detail}")
    raise PermanentError(f"{what}: HTTP {status}{detail}")


class PermanentError(Exception):
    """A failure that sending again will not fix; the file fails with this message."""


def retry_attempts(environ=os.environ, name: str = "NGC_CLI_DOWNLOAD_RETRIES") -> int:
    try:
        return max(1, int(environ.get(name, DEFAULT_ATTEMPTS)))
    except ValueError:
        return DEFAULT_ATTEMPTS


def backoff(attempt: int) -> float:
    return min(0.5 * 2 ** (attempt - 1), 8.0)


def with_retries(action: Callable[[], None], refresh_url: Callable[[], None], attempts: int,
                 stop: threading.Event) -> None:
    """Run `action` until it succeeds, retrying transport errors and retryable statuses with backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except (RetryableError, StorageConnectionError) as err:
            if attempt == attempts or stop.is_set():
                raise PermanentError(describe_error(err)) from err
            if isinstance(err, RetryableError) and err.expired:
                refresh_url()
            if stop.wait(backoff(attempt)):
                raise Stopped() from err


def describe_error(err: BaseException) -> str:
    if isinstance(err, StorageConnectionError):
        return f"the connection to the storage server failed: {err}"
    return str(err)


def run_tasks(tasks: list[Callable[[], None]], workers: int, stop: threading.Event) -> None:
    """Run every task on a pool; on Ctrl-C or SIGTERM set `stop`, let running tasks notice it, then re-raise."""
    if not tasks:
        return
    with task_pool(workers, stop) as submit:
        for task in tasks:
            submit(task)


@contextmanager
def task_pool(workers: int, stop: threading.Event) -> Iterator[Callable[[Callable[[], None]], None]]:
    """A pool that takes tasks while the block runs (from any thread) and is drained when it ends, as `run_tasks`."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transfer")
    futures: list[concurrent.futures.Future] = []
    try:
        yield lambda task: futures.append(pool.submit(task))
        pending = set(futures)
        while pending:
            _, pending = concurrent.futures.wait(pending, timeout=0.5)
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for future in futures:
        future.result()  # tasks handle their own errors; this re-raises only bugs
