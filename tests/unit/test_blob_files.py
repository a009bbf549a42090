"""Blob responses read what the page cache holds on the event loop, the rest in a worker thread: same bytes."""

from __future__ import annotations

import asyncio
import os

import anyio.to_thread
import pytest

from ngc_registry.server.blob_files import CachedFirstFile

MIB = 1 << 20


@pytest.fixture
def blob(tmp_path):
    data = os.urandom(3 * MIB + 12345)
    path = tmp_path / "blob"
    path.write_bytes(data)
    return path, data


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func, *args, **kwargs):
        calls.append(getattr(func, "func", func).__name__)  # run_in_threadpool passes a partial
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return calls


def read_all(path, start: int = 0, end: int | None = None) -> bytes:
    async def main() -> bytes:
        file = CachedFirstFile(os.open(path, os.O_RDONLY))
        try:
            await file.seek(start)
            chunks, left = [], (end if end is not None else file.size) - start
            while chunk := await file.read(min(MIB, left)):
                chunks.append(bytes(chunk))
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(file.fd)

    return asyncio.run(main())


def drop_from_page_cache(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@pytest.mark.skipif(not CachedFirstFile.nowait, reason="no RWF_NOWAIT reads here")
def test_a_cached_blob_is_read_without_a_thread_hop(blob, hops):
    path, data = blob
    read_all(path)  # now cached
    hops.clear()
    assert read_all(path) == data
    assert read_all(path, MIB - 7, 2 * MIB + 5) == data[MIB - 7:2 * MIB + 5]
    assert hops == []


def test_an_uncached_blob_is_read_in_worker_threads(blob, hops):
    path, data = blob
    drop_from_page_cache(path)
    assert read_all(path) == data
    assert "pread" in hops  # at least the first MiB: the kernel's read-ahead may bring the rest


def test_without_the_flag_every_read_takes_the_thread_path(blob, hops, monkeypatch):
    path, data = blob
    monkeypatch.setattr(CachedFirstFile, "nowait", False)
    assert read_all(path, 5, len(data) - 3) == data[5:-3]
    assert hops.count("pread") == 4
