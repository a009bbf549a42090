"""The terminal side of transfers: a progress bar on stderr, SIGTERM handling, and the summary block (§6.1.5)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import TextIO

from ...client.transfer_common import TransferResult, TransferTerminated
from ...client.transfer_plan import human_duration, human_size, speed

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2
RULE = "-" * 60


class ProgressBar:
    """`[#####.....]  45% 1.20 GB/2.67 GB 150.00 MB/s` redrawn in place at most five times a second."""

    def __init__(self, stream: TextIO, label: str):
        self.stream, self.label = stream, label
        self.total = self.done = self.resumed_from = 0
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._lock = threading.Lock()

    def start(self, total_bytes: int, done_bytes: int) -> None:
        with self._lock:
            self.total, self.done, self.resumed_from = total_bytes, done_bytes, done_bytes
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
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(fraction * BAR_WIDTH)
        rate = speed(max(self.done - self.resumed_from, 0), self._drawn_at - self._started)
        text = (f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%} "
                f"{human_size(max(self.done, 0))}/{human_size(self.total)} {rate}   ")
        self.stream.write(text)
        self.stream.flush()


def progress_for(ctx, label: str):
    """A bar when stderr is a terminal and the output is not json; nothing otherwise."""
    from ...client.transfer_common import NoProgress

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


def summary_lines(result: TransferResult) -> list[str]:
    verb = "Downloaded" if result.direction == "Download" else "Uploaded"
    seconds = result.seconds
    lines = [f"{verb} {human_size(result.bytes_transferred)} in {human_duration(seconds)}, "
             f"{result.direction} speed: {speed(result.bytes_transferred, seconds)}", RULE,
             f"Transfer id: {result.transfer_id} {result.direction} status: {result.status}.",
             f"{verb} local path: {result.local_path}",
             f"Total files {verb.lower()}: {result.files_done}",
             f"Total {verb.lower()} size: {human_size(result.bytes_total)}"]
    if result.files_skipped:
        reason = "already complete locally" if result.direction == "Download" else "already on the server, not sent"
        lines.append(f"Files {reason}: {result.files_skipped}")
    if result.failures:
        lines.append(f"Total files failed: {len(result.failures)}")
    lines += [f"Started at: {result.started}", f"Completed at: {result.completed}",
              f"Duration taken: {human_duration(seconds)}"]
    if result.direction == "Upload":
        lines.append(f"Version Status: {result.version_status or 'UPLOAD_PENDING'}")
    return lines + [RULE]


def summary_json(result: TransferResult) -> dict:
    data = {"transferId": result.transfer_id, "direction": result.direction, "status": result.status,
            "localPath": str(result.local_path), "totalFiles": result.files_total, "filesDone": result.files_done,
            "filesSkipped": result.files_skipped, "totalSizeInBytes": result.bytes_total,
            "bytesTransferred": result.bytes_transferred, "failures": result.failures,
            "startedAt": str(result.started), "completedAt": str(result.completed),
            "durationSeconds": round(result.seconds, 3)}
    if result.direction == "Upload":
        data["versionStatus"] = result.version_status or "UPLOAD_PENDING"
    return data


def report(ctx, result: TransferResult) -> int:
    """Print the summary (stdout) and each failure (stderr); return the transfer's exit code."""
    if ctx.out.is_json:
        ctx.out.json(summary_json(result))
    else:
        ctx.out.write("\n".join(summary_lines(result)))
    for path, reason in result.failures.items():
        print(f"Error: '{path}': {reason}", file=ctx.stderr)
    if result.failures or result.stopped_by:
        print(f"{result.direction} {result.status.lower()}: run the same command again to resume.", file=ctx.stderr)
    return result.exit_code


def dry_run_report(ctx, files: list[tuple[str, int]], verb: str) -> int:
    total = sum(size for _, size in files)
    if ctx.out.is_json:
        ctx.out.json({"files": [{"path": p, "sizeInBytes": s} for p, s in files], "totalFiles": len(files),
                      "totalSizeInBytes": total})
        return 0
    ctx.out.table(["Path", "Size"], [[path, human_size(size)] for path, size in files])
    ctx.out.write(f"Dry run: {len(files)} files, {human_size(total)} would be {verb}.")
    return 0
