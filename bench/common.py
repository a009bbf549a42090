"""What every bench module shares: paths, subprocesses, timing, statistics and the rows of the results table."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "out")).resolve()
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
GIB, MIB = 1 << 30, 1 << 20
XFER_BYTES = int(os.environ.get("BENCH_XFER_MIB", "2048")) * MIB  # rows 2-4: bytes per data set
SETS = ("8 files", "1 file")  # rows 2-4
CATALOG_MODELS = int(os.environ.get("BENCH_CATALOG_MODELS", "100000"))  # row 6


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def stolen_ms() -> float:
    """CPU time the hypervisor has taken from this VM's vCPUs since boot (all of them; /proc/stat's steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(argv: list[str], env: dict | None = None, timeout: float = 600, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stdout[-2000:]}\n"
                           f"{done.stderr[-2000:]}")
    return done


def timed(argv: list[str], env: dict | None = None, **kwargs) -> float:
    """Seconds of one command run to completion (it must succeed)."""
    started = time.perf_counter()
    run(argv, env=env, **kwargs)
    return time.perf_counter() - started


def timed_rss(argv: list[str], env: dict | None = None) -> tuple[float, int]:
    """(seconds, peak RSS in bytes) of one command: its VmHWM sampled while it runs (rusage's ru_maxrss would
    include the forking parent's resident set, which Linux carries across exec)."""
    log_path = OUT / "last-command.log"
    with open(log_path, "wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen([str(a) for a in argv], env=env, stdout=sink, stderr=subprocess.STDOUT)
        with PeakRss([process.pid], interval=0.01) as sampler:
            process.wait()
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:4]} exited {process.returncode}: {log_path.read_text()[-2000:]}")
    return seconds, sampler.peak.get(process.pid, 0)


def wait_until(check, timeout: float = 30, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def wait_port(port: int, timeout: float = 30) -> None:
    def listening() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    wait_until(listening, timeout, f"port {port}")


@dataclass
class Stat:
    """Measurements of one figure: the median with min and max."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)


@dataclass
class Row:
    """One line of the results table."""

    number: str
    what: str
    unit: str
    ours: Stat | None
    baseline: Stat | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if not (self.ours and self.baseline and self.baseline.median):
            return None
        return self.ours.median / self.baseline.median


@dataclass
class PeakRss:
    """Samples the peak resident set (VmHWM) of some processes in a thread; `peak` in bytes of each pid."""

    pids: list[int]
    interval: float = 0.02
    peak: dict[int, int] = field(default_factory=dict)

    def __enter__(self) -> PeakRss:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for pid in self.pids:
                self.peak[pid] = max(self.peak.get(pid, 0), rss_of(pid))


def rss_of(pid: int, field: str = "VmHWM") -> int:
    """Bytes of the process's peak resident set so far (VmHWM), or of its current one (VmRSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def settle() -> None:
    """Flush every dirty page first, so no measurement pays for the writeback of the one before it."""
    run(["sync"])
