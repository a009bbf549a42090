"""The terminal side of image transfers: sizes and speeds as people read them, a progress bar, SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import TextIO

from ...client.oci_transfer import NoProgress, Progress

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2


class TransferTerminated(Exception):
    """Raised in the main thread by the SIGTERM handler installed around a transfer."""


def human_size(size: float) -> str:
    """`230.92 MB` (binary multiples, as NGC's client prints them)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} TB"


def human_duration(seconds: float) -> str:
    """`38s`, `2m 5s`, `1h 0m 3s`."""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def speed(size: int, seconds: float) -> str:
    return f"{human_size(size / max(seconds, 1e-3))}/s"


class ProgressBar:
    """`Pushing [#####.....]  45% 1.20 GB/2.67 GB 150.00 MB/s`, redrawn in place at most five times a second."""

    def __init__(self, stream: TextIO, label: str):
        self.stream, self.label = stream, label
        self.total = self.done = 0
        self._started = self._drawn_at = 0.0
        self._lock = threading.Lock()

    def start(self, total_bytes: int, done_bytes: int) -> None:
        with self._lock:
            self.total, self.done = total_bytes, done_bytes
            self._started = time.monotonic()
            self._draw()

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes
            if time.monotonic() - self._drawn_at >= REDRAW_SECONDS:
                self._draw()

    def finish(self) -> None:
        with self._lock:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        self._drawn_at = time.monotonic()
        done = max(self.done, 0)
        fraction = min(done / self.total, 1.0) if self.total else 1.0
        filled = int(fraction * BAR_WIDTH)
        rate = speed(done, self._drawn_at - self._started)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%} "
                          f"{human_size(done)}/{human_size(self.total)} {rate}   ")
        self.stream.flush()


def progress_for(ctx, label: str) -> Progress:
    """A bar when stderr is a terminal and the output is not json; nothing otherwise."""
    stream = ctx.stderr
    if ctx.out.is_json or not getattr(stream, "isatty", lambda: False)():
        return NoProgress()
    return ProgressBar(stream, label)


@contextlib.contextmanager
def sigterm_stops_transfer():
    """While a transfer runs, SIGTERM raises TransferTerminated in the main thread so it can stop cleanly."""
    def handler(signum, frame):
        raise TransferTerminated()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
