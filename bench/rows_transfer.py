"""Rows 2, 3, 4 and 7: `ngc registry model download-version / upload-version` against curl + nginx, an unchanged
re-upload against sha256sum, and peak memory of a 5 GiB transfer."""

from __future__ import annotations

import re
from pathlib import Path

from . import common
from .baselines import curl_get, curl_put, sha256sum
from .common import BIN, GIB, MIB, OUT, PeakRss, Row, Stat, log, run, settle, timed_rss
from .dataset import file_set, files_in, random_file, remove, restamp, sha256_file, total_size
from .servers import OurServer, ngc

MODEL = "bench/xfer"
DATASETS = {"8 files": "eight", "1 file": "one"}


def gbps(size: int, seconds: float) -> float:
    return size / seconds / 1e9


def make_datasets(root: Path) -> dict[str, Path]:
    """The data sets named in common.SETS, common.XFER_BYTES each (2 GiB unless reduced)."""
    counts = {"8 files": 8, "1 file": 1}
    return {label: file_set(root / DATASETS[label], counts[label], common.XFER_BYTES, DATASETS[label])
            for label in common.SETS}


def size_label(size: int) -> str:
    return f"{size / GIB:g} GiB" if size >= GIB else f"{size >> 20} MiB"


def create_model(env: dict, name: str = MODEL) -> None:
    ngc(env, "registry", "model", "create", name, "--application", "Other", "--framework", "PyTorch",
        "--format", "pt", "--precision", "FP16", "--short-desc", "bench")


def sync_files(paths: list[Path]) -> None:
    run(["sync", "--data", *map(str, paths)])


def ngc_upload(env: dict, version: str, source: Path) -> float:
    settle()
    seconds, _ = timed_rss([BIN / "ngc", "registry", "model", "upload-version", f"{MODEL}:{version}",
                            "--source", source], env)
    return seconds


def ngc_download(env: dict, version: str, dest: Path, warm: list[Path] = ()) -> float:
    remove(dest)
    dest.mkdir(parents=True)
    read_through(warm)
    settle()
    seconds, _ = timed_rss([BIN / "ngc", "registry", "model", "download-version", f"{MODEL}:{version}",
                            "--dest", dest], env)
    return seconds


def curl_upload(nginx, source: Path, label: str) -> float:
    """curl -T of every file to nginx's WebDAV PUT, then the stored files made durable (as ours are)."""
    put_root = OUT / "put"
    files = files_in(source)
    settle()
    seconds = curl_put([(f, f"{nginx.url}/put/{label}/{f.name}") for f in files])
    stored = [put_root / label / f.name for f in files]
    seconds += _timed_sync(stored)
    remove(put_root / label)
    return seconds


def curl_download(nginx, source: Path, dest: Path, warm: list[Path] = ()) -> float:
    """curl GETs of the same files from nginx (sendfile) to disk, then made durable (as ours are)."""
    remove(dest)
    dest.mkdir(parents=True)
    files = files_in(source)
    read_through(warm)
    settle()
    seconds = curl_get([(f"{nginx.url}/files/{source.name}/{f.name}", dest / f.name) for f in files])
    return seconds + _timed_sync([dest / f.name for f in files])


def _timed_sync(paths: list[Path]) -> float:
    import time

    started = time.perf_counter()
    sync_files(paths)
    return time.perf_counter() - started


def upload_rows(server: OurServer, nginx, data: dict[str, Path]) -> list[Row]:
    """Row 3, interleaved: ours then curl, RUNS times, each run on freshly stamped (new) content."""
    env, rows = server.ngc_env(OUT / "home"), []
    for label, source in data.items():
        ours, base, size = [], [], total_size(source)
        for index in range(common.RUNS):
            restamp(source, f"upload-{index}")
            ours.append(gbps(size, ngc_upload(env, f"{DATASETS[label]}-{index}", source)))
            base.append(gbps(size, curl_upload(nginx, source, DATASETS[label])))
            log(f"upload {label}: ours {ours[-1]:.2f} GB/s, curl -T {base[-1]:.2f} GB/s")
        rows.append(_row("3", f"upload-version, {size_label(size)} in {label}", ours, base,
                         "curl -T → nginx PUT + sync", 0.6, "≥ 0.6 × curl"))
    return rows


def read_through(paths: list[Path]) -> None:
    """Read files to the end, so that they are in the page cache."""
    for path in paths:
        with open(path, "rb", buffering=0) as stream:
            while stream.read(8 * MIB):
                pass


def stored_copies(server: OurServer, source: Path) -> list[Path]:
    """The files of the server's filesystem store holding the same bytes as the files in `source`."""
    digests = [sha256_file(path) for path in files_in(source)]
    return [server.data_dir / "blobs" / "sha256" / digest[:2] / digest for digest in digests]


def download_rows(server: OurServer, nginx, data: dict[str, Path]) -> list[Row]:
    """Row 2, interleaved: ours (sha256 verified, fdatasync'd) and curl (+ sync), RUNS times, the side that goes
    first alternating. Both serve the same bytes from the page cache: the version uploaded last, whose stored
    files are read through before each of our downloads, as nginx's files are before each of curl's. (This VM
    pages out file pages untouched for a minute, so an older version would be read from disk by our side only.)"""
    env, rows, dest = server.ngc_env(OUT / "home"), [], OUT / "dl"
    for label, source in data.items():
        size, version = total_size(source), f"{DATASETS[label]}-{common.RUNS - 1}"
        stored = stored_copies(server, source)
        served = files_in(source)
        download = {"ours": lambda: ngc_download(env, version, dest, stored),
                    "curl": lambda: curl_download(nginx, source, dest, served)}
        figures = {"ours": [], "curl": []}
        for index in range(common.RUNS):
            for side in ("ours", "curl") if index % 2 == 0 else ("curl", "ours"):
                figures[side].append(gbps(size, download[side]()))
            log(f"download {label}: ours {figures['ours'][-1]:.2f} GB/s, curl {figures['curl'][-1]:.2f} GB/s")
        remove(dest)
        rows.append(_row("2", f"download-version, {size_label(size)} in {label}", figures["ours"], figures["curl"],
                         "curl ← nginx sendfile + sync", 0.8, "≥ 0.8 × curl"))
    return rows


def _row(number: str, what: str, ours: list[float], base: list[float], base_name: str, need: float,
         target: str) -> Row:
    row = Row(number, what, "GB/s", Stat(ours), Stat(base), base_name, target)
    row.met = row.ratio >= need
    return row


def storage_puts(server: OurServer) -> int:
    return len(re.findall(r'"PUT /_storage/', (OUT / f"server-{server.port}.log").read_text()))


def reupload_rows(server: OurServer, data: dict[str, Path]) -> list[Row]:
    """Row 4: the last uploaded content again under new version numbers: hashing only, no byte sent."""
    env, rows = server.ngc_env(OUT / "home"), []
    for label, source in data.items():
        ours, base, puts = [], [], storage_puts(server)
        files = files_in(source)
        for index in range(common.RUNS):
            ours.append(ngc_upload(env, f"{DATASETS[label]}-again-{index}", source))
            base.append(sha256sum(files))
        sent = storage_puts(server) - puts
        what = f"unchanged {size_label(total_size(source))} re-upload ({label}), new version"
        row = Row("4", what, "s", Stat(ours), Stat(base),
                  "sha256sum", "≤ 1.2 × sha256sum + 1 s, no bytes sent", higher_is_better=False)
        row.met = row.ours.median <= 1.2 * row.baseline.median + 1 and sent == 0
        row.note = f"{sent} part PUTs during these uploads"
        log(f"re-upload {label}: ours {row.ours.median:.2f} s, sha256sum {row.baseline.median:.2f} s, {sent} PUTs")
        rows.append(row)
    return rows


def memory_rows(server: OurServer, root: Path) -> list[Row]:
    """Row 7: peak RSS of the server and of the client during a 5 GiB upload, then its download."""
    big = random_file(root / "big" / "big.bin", 5 * GIB, "big")
    env, found = server.ngc_env(OUT / "home"), {}
    (OUT / "dl-big").mkdir(parents=True, exist_ok=True)
    for direction in ("upload", "download"):
        with PeakRss(server.pids) as peaks:
            if direction == "upload":
                seconds, client = timed_rss([BIN / "ngc", "registry", "model", "upload-version", f"{MODEL}:big",
                                             "--source", big.parent], env)
            else:
                seconds, client = timed_rss([BIN / "ngc", "registry", "model", "download-version", f"{MODEL}:big",
                                             "--dest", OUT / "dl-big"], env)
        found[direction] = (max(peaks.peak.values()), client, gbps(5 * GIB, seconds))
        log(f"5 GiB {direction}: server peak {found[direction][0] / 1e6:.0f} MB, client {client / 1e6:.0f} MB")
    remove(big.parent, OUT / "dl-big")
    return [_memory_row(direction, *figures) for direction, figures in found.items()]


def _memory_row(direction: str, server_rss: int, client_rss: int, speed: float) -> Row:
    row = Row("7", f"peak RSS, 5 GiB {direction}: server / client", "MB", Stat([server_rss / 1e6]),
              Stat([client_rss / 1e6]), "client (right column)", "server ≤ 200 MB, client ≤ 150 MB",
              higher_is_better=False)
    row.met = server_rss <= 200e6 and client_rss <= 150e6
    row.note = f"one run; {speed:.2f} GB/s; server figure is the largest serving process"
    return row
