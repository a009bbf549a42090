"""The download engine against a fake API and a mock storage transport: ranges, resume, checks, filters."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ngc_registry.client.registry_api import MODELS
from ngc_registry.client.transfer import Download
from ngc_registry.client.transfer_http import StorageClient
from ngc_registry.client.transfer_plan import UnsafePathError
from ngc_registry.errors import EXIT_OK, EXIT_TRANSFER_FAILED, TransferFailedError
from ngc_registry.refs import Target

from .test_transfer_http import serve_range, storage  # noqa: F401 (fixture)

TARGET = Target("o", "t", "m", "1")


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class FakeApi:
    kind = MODELS

    def __init__(self, files: dict[str, bytes], status="UPLOAD_COMPLETE", digests: dict | None = None):
        self.files, self.status = files, status
        self.digests = digests or {path: b64sha(data) for path, data in files.items()}
        self.calls: list[str] = []

    def get_version(self, target):
        return {"modelVersion": {"status": self.status}}

    def list_files(self, target):
        return [{"path": p, "sizeInBytes": len(d), "sha256": self.digests.get(p)} for p, d in self.files.items()]

    def download_urls(self, target):
        self.calls.append("F2")
        return {path: f"/_storage/{path}" for path in self.files}

    def download_url(self, target, path):
        self.calls.append(f"F3 {path}")
        return f"/_storage/{path}?fresh=1"


class Storage:
    """Serves FakeApi files with Range; `cut_after` bytes per response simulate a dropped connection."""

    def __init__(self, api: FakeApi, cut_after: int | None = None, refuse_stale: bool = False):
        self.api, self.cut_after, self.refuse_stale = api, cut_after, refuse_stale
        self.ranges: list[tuple[str, str]] = []

    def __call__(self, method: str, url: str, headers: dict, body: bytes):
        path, _, query = url.removeprefix("/_storage/").partition("?")
        if self.refuse_stale and "fresh" not in query:
            return 403, b"expired"
        self.ranges.append((path, headers.get("range", "")))
        return serve_range(self.api.files[path], headers, self.cut_after)


@pytest.fixture
def download(storage):
    def run(api, dest, handler=None, **kwargs):
        handler = handler or Storage(api)
        server = storage(handler)
        kwargs.setdefault("attempts", 1)
        job = Download(api, StorageClient(server.url, 4), TARGET, dest, **kwargs)
        return job.run(job.plan()), handler
    return run


def test_download_writes_every_file_in_the_version_dir(tmp_path, download):
    api = FakeApi({"a.txt": b"alpha file\n", "sub/b.bin": bytes(range(200)) * 5, "empty": b""})
    result, storage = download(api, tmp_path, range_size=64)
    root = tmp_path / "m_v1"
    assert (root / "a.txt").read_bytes() == b"alpha file\n"
    assert (root / "sub" / "b.bin").read_bytes() == bytes(range(200)) * 5
    assert (root / "empty").read_bytes() == b""
    assert result.exit_code == EXIT_OK and result.status == "Completed" and result.files_done == 3
    assert result.bytes_transferred == 1011
    assert len([r for r in storage.ranges if r[0] == "sub/b.bin"]) == 16  # 1000 bytes in 64-byte ranges
    assert not (root / ".ngc-partial").exists()
    assert api.calls == ["F2"]


def test_a_cut_download_resumes_from_the_bytes_already_written(tmp_path, download):
    data = bytes(range(256)) * 4
    api = FakeApi({"w.bin": data})
    result, _ = download(api, tmp_path, Storage(api, cut_after=300))
    assert result.exit_code == EXIT_TRANSFER_FAILED and "w.bin" in result.failures
    assert not (tmp_path / "m_v1" / "w.bin").exists()
    assert list((tmp_path / "m_v1" / ".ngc-partial").iterdir())

    result, storage = download(api, tmp_path)
    assert result.exit_code == EXIT_OK
    assert storage.ranges == [("w.bin", "bytes=300-1023")]
    assert (tmp_path / "m_v1" / "w.bin").read_bytes() == data
    assert result.bytes_transferred == 1024 - 300


def test_retries_continue_within_the_same_run(tmp_path, monkeypatch, download):
    monkeypatch.setattr("ngc_registry.client.transfer_common.backoff", lambda attempt: 0)
    data = b"x" * 100
    api = FakeApi({"r.bin": data})
    handler = Storage(api, cut_after=30)
    result, _ = download(api, tmp_path, handler, attempts=5)
    assert result.exit_code == EXIT_OK
    assert [r[1] for r in handler.ranges] == ["bytes=0-99", "bytes=30-99", "bytes=60-99", "bytes=90-99"]


def test_complete_files_are_skipped_on_a_rerun(tmp_path, download):
    api = FakeApi({"a.txt": b"alpha"})
    download(api, tmp_path)
    result, storage = download(api, tmp_path)
    assert storage.ranges == [] and result.files_skipped == 1 and result.status == "Completed"


def test_a_local_file_with_other_content_is_downloaded_again(tmp_path, download):
    api = FakeApi({"a.txt": b"alpha"})
    (tmp_path / "m_v1").mkdir()
    (tmp_path / "m_v1" / "a.txt").write_bytes(b"ALPHA")
    result, _ = download(api, tmp_path)
    assert result.files_skipped == 0 and (tmp_path / "m_v1" / "a.txt").read_bytes() == b"alpha"


def test_a_digest_mismatch_fails_the_file_and_removes_the_bytes(tmp_path, download):
    api = FakeApi({"a.txt": b"alpha"}, digests={"a.txt": b64sha(b"other")})
    result, _ = download(api, tmp_path)
    assert "sha256" in result.failures["a.txt"]
    assert not (tmp_path / "m_v1" / "a.txt").exists()


def test_without_a_digest_the_file_is_not_verified(tmp_path, download):
    api = FakeApi({"a.txt": b"alpha"}, digests={"a.txt": None})
    result, _ = download(api, tmp_path)
    assert result.status == "Completed"


def test_an_incomplete_version_is_refused(tmp_path):
    api = FakeApi({"a.txt": b"alpha"}, status="UPLOAD_PENDING")
    job = Download(api, StorageClient("http://x", 1), TARGET, tmp_path)
    with pytest.raises(TransferFailedError, match="'o/t/m:1' is not in state UPLOAD_COMPLETE"):
        job.plan()


@pytest.mark.parametrize("bad", ["../evil", "/etc/passwd", "a\\b", "a\x00b"])
def test_server_paths_that_escape_are_refused_before_anything_is_written(tmp_path, bad):
    api = FakeApi({"ok": b"1", bad: b"2"})
    job = Download(api, StorageClient("http://x", 1), TARGET, tmp_path)
    with pytest.raises(UnsafePathError):
        job.plan()
    assert list(tmp_path.iterdir()) == []


def test_filters_select_files_and_fetch_one_url_each(tmp_path, download):
    api = FakeApi({"weights/a.bin": b"a", "weights/b.txt": b"b", "readme.md": b"r"})
    result, _ = download(api, tmp_path, include=["weights/*"], exclude=["*.txt"])
    assert api.calls == ["F3 weights/a.bin"]
    assert result.files_total == 1 and (tmp_path / "m_v1" / "weights" / "a.bin").exists()
    assert not (tmp_path / "m_v1" / "readme.md").exists()


def test_filters_that_match_nothing_are_an_error(tmp_path):
    api = FakeApi({"a": b"a"})
    job = Download(api, StorageClient("http://x", 1), TARGET, tmp_path, include=["nothing*"])
    with pytest.raises(Exception, match="matches"):
        job.plan()


def test_an_expired_url_is_fetched_again(tmp_path, monkeypatch, download):
    monkeypatch.setattr("ngc_registry.client.transfer_common.backoff", lambda attempt: 0)
    api = FakeApi({"a.txt": b"alpha"})
    result, _ = download(api, tmp_path, Storage(api, refuse_stale=True), attempts=3)
    assert result.status == "Completed" and "F3 a.txt" in api.calls


def test_a_full_disk_keeps_the_partial_file(tmp_path, monkeypatch, download):
    import errno
    import os

    real_pwrite = os.pwrite

    def pwrite(fd, data, offset):  # a disk with room for 6 more bytes
        if offset >= 6:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(fd, data[:6 - offset], offset)

    monkeypatch.setattr("ngc_registry.client.transfer.os.pwrite", pwrite)
    api = FakeApi({"big": b"z" * 30})
    result, _ = download(api, tmp_path)
    assert "no space left" in result.failures["big"]
    partial_dir = tmp_path / "m_v1" / ".ngc-partial"
    assert any(p.suffix == ".part" for p in partial_dir.iterdir())
    monkeypatch.setattr("ngc_registry.client.transfer.os.pwrite", real_pwrite)
    result, storage = download(api, tmp_path)
    assert result.status == "Completed" and storage.ranges == [("big", "bytes=6-29")]


def test_ranges_of_one_file_write_it_one_at_a_time(tmp_path, monkeypatch, download):
    """Parallel ranges fetch in parallel but write one file one pwrite at a time (a buffered write holds the
    inode lock, and the kernel spins for the writers waiting on it)."""
    import os
    import threading
    import time

    real_pwrite, writing, overlaps = os.pwrite, {}, []
    guard = threading.Lock()

    def pwrite(fd, data, offset):
        with guard:
            overlaps.append(writing.get(fd, 0))
            writing[fd] = writing.get(fd, 0) + 1
        time.sleep(0.002)  # widen the window in which a second writer of the same file would show
        try:
            return real_pwrite(fd, data, offset)
        finally:
            with guard:
                writing[fd] -= 1

    monkeypatch.setattr("ngc_registry.client.transfer.os.pwrite", pwrite)
    data = os.urandom(64 * 1024)
    result, storage = download(FakeApi({"f.bin": data}), tmp_path, range_size=4096, workers=8)
    assert result.status == "Completed" and (tmp_path / "m_v1" / "f.bin").read_bytes() == data
    assert len(storage.ranges) == 16 and len(overlaps) >= 16
    assert max(overlaps) == 0


def test_chunks_reach_the_file_in_pieces_of_16_kib(tmp_path, monkeypatch, download):
    """Big writes make the kernel allocate big page-cache folios, slow to fault in on a ballooned VM: the download
    writes what it receives 16 KiB at a time, as curl does."""
    import os

    from ngc_registry.client.transfer import WRITE_PIECE, pwrite_in_pieces

    real_pwrite, sizes = os.pwrite, []

    def pwrite(fd, data, offset):
        sizes.append(len(data))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr("ngc_registry.client.transfer.os.pwrite", pwrite)
    data = os.urandom(300 * 1024)
    result, _ = download(FakeApi({"f.bin": data}), tmp_path)
    assert result.status == "Completed" and (tmp_path / "m_v1" / "f.bin").read_bytes() == data
    assert WRITE_PIECE == 16 * 1024 and max(sizes) == WRITE_PIECE and sum(sizes) == len(data)

    monkeypatch.setattr("ngc_registry.client.transfer.os.pwrite", lambda fd, piece, offset: min(len(piece), 5))
    assert pwrite_in_pieces(-1, memoryview(b"x" * 40_000), 0) == 5  # a short write stops there, as pwrite does
