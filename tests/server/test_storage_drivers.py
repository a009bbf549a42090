"""One suite for every blob store driver: the filesystem and S3 (a real single-node Swift with s3api, tests/swift.py).

Sizes cross the S3 driver's 8 MiB part size so that its multipart paths run, not only single PUTs.
"""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from ngc_registry.server.storage.factory import open_store
from ngc_registry.server.storage.maintenance import MissingPartsError
from ngc_registry.server.storage.s3 import PART_SIZE

from ..swift import swift  # noqa: F401  (fixture)

MiB = 1 << 20


def s3_store(server, tmp_path):
    env = server.env()
    return open_store(f"s3://{server.new_bucket()}/registry", tmp_path, env["AWS_ENDPOINT_URL"], "us-east-1",
                      env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture(params=["filesystem", "s3"])
def store(request, tmp_path):
    if request.param == "filesystem":
        return open_store("", tmp_path / "blobs")
    return s3_store(request.getfixturevalue("swift"), tmp_path)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(store, data: bytes, piece: int = MiB):
    writer = store.temp_writer()
    for start in range(0, len(data), piece):
        writer.write(data[start:start + piece])
    return writer, writer.finish()


def read(store, digest: str) -> bytes:
    with store.open_blob(digest) as stream:
        return stream.read()


def publish(store, data: bytes) -> str:
    writer, digest = write(store, data)
    store.promote(writer.path, digest)
    return digest


@pytest.mark.parametrize("size", [0, 3, PART_SIZE + 5 * MiB + 7])
def test_write_verify_publish(store, size):
    data = os.urandom(size)
    writer, digest = write(store, data)
    assert digest == sha256(data) and writer.size == size
    assert store.digest_file(writer.path, "sha512") == "sha512:" + hashlib.sha512(data).hexdigest()
    assert not store.has_blob(digest)
    store.promote(writer.path, digest)
    assert store.has_blob(digest) and store.blob_size(digest) == size and read(store, digest) == data
    assert [(b.digest, b.size) for b in store.list_blobs()] == [(digest, size)]
    assert list(store.list_temp()) == []
    store.promote(write(store, data)[0].path, digest)  # publishing it again changes nothing and leaves no temp
    assert read(store, digest) == data and list(store.list_temp()) == []


def test_a_wrong_digest_publishes_nothing(store):
    data = os.urandom(2 * MiB)
    writer, digest = write(store, data)
    assert digest != sha256(b"something else")
    writer.discard()  # what every caller does when the digest does not match
    assert list(store.list_blobs()) == [] and list(store.list_temp()) == []
    assert not store.has_blob(sha256(b"something else")) and not store.has_blob(digest)


def test_ranged_reads(store):
    data = os.urandom(PART_SIZE + 100)
    digest = publish(store, data)
    assert store.read_range(digest, 0, 0) == data[:1]
    assert store.read_range(digest, PART_SIZE - 10, PART_SIZE + 9) == data[PART_SIZE - 10:PART_SIZE + 10]
    assert store.read_range(digest, len(data) - 5, len(data) - 1) == data[-5:]


def test_list_size_delete(store):
    digests = {publish(store, os.urandom(n)): n for n in (1, 10, 100)}
    assert {b.digest: b.size for b in store.list_blobs()} == digests
    gone = next(iter(digests))
    store.delete_blob(gone)
    store.delete_blob(gone)  # absent: not an error
    assert store.blob_size(gone) is None and not store.has_blob(gone)
    with pytest.raises(FileNotFoundError):
        read(store, gone)
    assert {b.digest for b in store.list_blobs()} == set(digests) - {gone}


def append_chunks(store, upload_id: str, chunks: list[bytes]) -> str | None:
    offset, first = 0, None
    for number, chunk in enumerate(chunks, 1):
        writer = store.chunk_writer(upload_id, number, offset)
        for start in range(0, len(chunk), MiB):
            writer.write(chunk[start:start + MiB])
        digest = writer.finish()
        store.keep_part(writer, upload_id, number)
        first, offset = first or digest, offset + len(chunk)
    return first


@pytest.mark.parametrize("sizes", [[3 * MiB, 7 * MiB, MiB + 1, 9 * MiB], [5], [PART_SIZE], [MiB, MiB]])
def test_chunked_uploads(store, sizes):
    chunks = [os.urandom(size) for size in sizes]
    first = append_chunks(store, "u1", chunks)
    data = b"".join(chunks)
    assert [upload for upload, _ in store.list_uploads()] == ["u1"]
    source, digest, size = store.upload_chunks("u1", len(chunks), first if len(chunks) == 1 else None, len(data))
    assert (digest, size) == (sha256(data), len(data))
    store.promote(source, digest)
    store.drop_upload("u1")
    assert read(store, digest) == data and list(store.list_uploads()) == []


def test_dropping_an_upload_removes_its_parts(store):
    append_chunks(store, "u2", [os.urandom(PART_SIZE + 1)])
    append_chunks(store, "u3", [b"x"])
    store.drop_upload("u2")
    assert [upload for upload, _ in store.list_uploads()] == ["u3"]
    store.drop_upload("u3")
    store.drop_upload("never-started")
    assert list(store.list_uploads()) == [] and list(store.list_blobs()) == []


def test_temp_objects(store):
    writer, _ = write(store, b"left behind by a crash")
    unfinished = store.temp_writer()
    unfinished.write(os.urandom(PART_SIZE + 1))  # S3: a multipart upload in progress is a temp object too
    names = {name for name, _, _ in store.list_temp()}
    assert str(writer.path).rsplit("/", 1)[-1] in names and len(names) == 2
    for name in names:
        store.delete_temp(name)
    assert list(store.list_temp()) == []
    assert store.ping() is None


# -- S3 only: NGC multipart uploads with presigned part URLs ----------------------------------------------------

@pytest.fixture
def s3(swift, tmp_path):  # noqa: F811
    return s3_store(swift, tmp_path)


def test_presigned_parts_are_verified_before_publishing(s3):
    parts = [os.urandom(5 * MiB), os.urandom(MiB)]
    urls = s3.part_urls("n1", [1, 2], 600)
    assert all(url.startswith(s3.location.endpoint_url) and "X-Amz-Signature=" in url for url in urls)
    assert httpx.put(urls[0], content=parts[0]).status_code == 200
    with pytest.raises(MissingPartsError) as missing:
        s3.complete_parts("n1", 2, 6 * MiB)
    assert missing.value.missing == [2]
    assert httpx.put(urls[1] + "0", content=parts[1]).status_code == 403  # tampered signature
    assert httpx.put(urls[1], content=parts[1]).status_code == 200
    source, digest, size = s3.complete_parts("n1", 2, 6 * MiB)
    assert (digest, size) == (sha256(b"".join(parts)), 6 * MiB)
    assert list(s3.list_blobs()) == []  # nothing is visible under a digest until the caller compared it
    s3.promote(source, digest)
    s3.drop_upload("n1")
    url = s3.download_url(digest, "model.bin", 600)
    answer = httpx.get(url, headers={"Range": "bytes=0-9"})
    assert answer.status_code == 206 and answer.content == parts[0][:10]
    assert httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
    assert list(s3.list_uploads()) == []


def test_an_expired_presigned_url_is_refused(s3):
    digest = publish(s3, b"expires")
    import time

    url = s3.download_url(digest, None, 1)
    time.sleep(2.1)
    assert httpx.get(url).status_code == 403


def test_an_unreachable_store_fails_ping(tmp_path):
    store = open_store("s3://bucket/p", tmp_path, "http://127.0.0.1:9", "us-east-1", "a", "b")
    store.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(OSError):
        store.ping()
