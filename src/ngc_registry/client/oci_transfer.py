"""What image pushes and pulls share: the result (for the summary and the exit code) and the worker pool."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from ..errors import (EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_TRANSFER_FAILED,
                      ConnectionFailedError, RangeNotSatisfiableError, RegistryError)
from .transfer_common import NoProgress, Progress  # noqa: F401  (what image transfers report progress to)

EXISTS, MOUNTED, TRANSFERRED, FAILED = "exists", "mounted", "transferred", "failed"


class TransferStopped(Exception):
    """The transfer is being stopped (Ctrl-C, SIGTERM): a worker abandons the blob it is moving."""


@dataclass(frozen=True)
class BlobOutcome:
    digest: str
    size: int
    outcome: str  # EXISTS | MOUNTED | TRANSFERRED | FAILED
    reason: str = ""


@dataclass
class ImageTransferResult:
    """What a push or pull did, blob by blob, for the summary block and the exit code."""

    direction: str  # "Push" | "Pull"
    image: str
    local_path: Path | None = None
    digest: str | None = None
    started: datetime = field(default_factory=datetime.now)
    completed: datetime | None = None
    outcomes: dict[str, BlobOutcome] = field(default_factory=dict)
    bytes_transferred: int = 0
    manifests: int = 0
    stopped_by: str | None = None  # "SIGTERM" | "interrupt"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, outcome: BlobOutcome) -> None:
        with self._lock:
            self.outcomes[outcome.digest] = outcome

    def add_bytes(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_transferred += nbytes

    def finish(self) -> ImageTransferResult:
        self.completed = datetime.now()
        return self

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.outcomes.values() if item.outcome == outcome)

    def size_of(self, *outcomes: str) -> int:
        return sum(item.size for item in self.outcomes.values() if item.outcome in outcomes)

    @property
    def failures(self) -> dict[str, str]:
        return {item.digest: item.reason for item in self.outcomes.values() if item.outcome == FAILED}

    @property
    def seconds(self) -> float:
        return ((self.completed or datetime.now()) - self.started).total_seconds()

    @property
    def status(self) -> str:
        if self.stopped_by:
            return "Terminated"
        if not self.failures:
            return "Completed"
        return "Incomplete" if self.count(TRANSFERRED) + self.count(MOUNTED) else "Failed"

    @property
    def exit_code(self) -> int:
        if self.stopped_by:
            return EXIT_INTERRUPTED if self.stopped_by == "interrupt" else EXIT_TERMINATED
        return {"Completed": EXIT_OK, "Incomplete": EXIT_INCOMPLETE}.get(self.status, EXIT_TRANSFER_FAILED)


def run_in_parallel(tasks: list[Callable[[], None]], workers: int, stop: threading.Event) -> None:
    """Every task on a thread pool; Ctrl-C or SIGTERM sets `stop` and is re-raised once the tasks noticed."""
    if not tasks:
        return
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oci")
    futures = [pool.submit(task) for task in tasks]
    try:
        pending = set(futures)
        while pending:  # wait in slices so that the main thread sees Ctrl-C and SIGTERM
            _, pending = concurrent.futures.wait(pending, timeout=0.5)
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for future in futures:
        future.result()  # tasks record their own failures; this re-raises only bugs


def is_retryable(err: Exception) -> bool:
    if isinstance(err, (httpx.TransportError, ConnectionFailedError, RangeNotSatisfiableError)):
        return True
    return isinstance(err, RegistryError) and (err.status >= 500 or err.status in (408, 429))


def is_refusal(err: Exception) -> bool:
    """401/403: no other blob will fare better, so the whole transfer stops with this one error."""
    return isinstance(err, RegistryError) and err.status in (401, 403)
