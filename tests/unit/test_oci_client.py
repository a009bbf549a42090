"""The OCI client against the in-memory registry: uploads (whole, chunked, resumed, mounted), manifests, tags."""

from __future__ import annotations

import os

import pytest

from ngc_registry.client.oci_upload import (MOUNTED, PUSHED, BlobLocation, BlobUploader, chunk_spans, content_range,
                                            next_offset, with_digest)
from ngc_registry.errors import NotFoundError, RegistryError

from .test_oci_fake_registry import OCI_MANIFEST, FakeRegistry, sha256


def test_content_range_is_inclusive_without_unit():
    assert content_range(0, 10) == "0-9"
    assert content_range(10, 1) == "10-10"
    with pytest.raises(ValueError):
        content_range(5, 0)


def test_chunk_spans_cover_the_blob_from_an_offset():
    assert chunk_spans(10, 4) == [(0, 4), (4, 4), (8, 2)]
    assert chunk_spans(10, 4, start=6) == [(6, 4)]
    assert chunk_spans(8, 4) == [(0, 4), (4, 4)]
    assert chunk_spans(0, 4) == []


def test_next_offset_reads_both_range_spellings():
    assert next_offset("0-1023") == 1024
    assert next_offset("bytes=0-9") == 10
    assert next_offset(None) == 0 and next_offset("garbage") == 0


def test_with_digest_keeps_the_upload_state_query():
    url = with_digest("http://r/v2/o/i/blobs/uploads/abc?_state=x", "sha256:00")
    assert "_state=x" in url and "digest=sha256%3A00" in url


def blob_file(tmp_path, data: bytes, prefix: bytes = b"") -> BlobLocation:
    path = tmp_path / "blob"
    path.write_bytes(prefix + data)
    return BlobLocation(path, len(prefix), len(data))


def uploader(registry: FakeRegistry, repository="o/img", chunk_size=1024, counted=None):
    client = registry.client()
    return BlobUploader(client, repository, chunk_size=chunk_size,
                        on_bytes=(counted.append if counted is not None else lambda n: None))


def test_small_blob_goes_in_one_put_from_an_offset_in_a_file(tmp_path):
    registry, data = FakeRegistry(), os.urandom(500)
    location = blob_file(tmp_path, data, prefix=b"tar header bytes")
    counted = []
    assert uploader(registry, counted=counted).upload(sha256(data), location) == PUSHED
    assert registry.blobs["o/img"][sha256(data)] == data and sum(counted) == 500
    assert not any(method == "PATCH" for method, _ in registry.requests)


def test_large_blob_goes_in_patch_chunks_then_a_closing_put(tmp_path):
    registry, data = FakeRegistry(), os.urandom(2500)
    assert uploader(registry).upload(sha256(data), blob_file(tmp_path, data)) == PUSHED
    assert registry.blobs["o/img"][sha256(data)] == data
    assert [method for method, _ in registry.requests].count("PATCH") == 3


def test_failed_chunk_resumes_from_the_registry_offset(tmp_path):
    registry, data = FakeRegistry(), os.urandom(3000)
    counted = []
    up = uploader(registry, counted=counted)
    original_patch = up.patch_chunk
    calls = []

    def flaky_patch(state, location, start, length):
        calls.append(start)
        if len(calls) == 2:
            registry.fail_next["PATCH"] = 1
        return original_patch(state, location, start, length)

    up.patch_chunk = flaky_patch
    up.stop.wait = lambda seconds: False  # no backoff sleeps in tests
    assert up.upload(sha256(data), blob_file(tmp_path, data)) == PUSHED
    assert calls == [0, 1024, 1024, 2048]
    assert registry.blobs["o/img"][sha256(data)] == data and sum(counted) == 3000


def test_out_of_order_chunk_gets_416_and_the_upload_recovers(tmp_path):
    registry, data = FakeRegistry(), os.urandom(2048)
    up = uploader(registry)
    up.stop.wait = lambda seconds: False
    url = up.start(sha256(data))
    response = up.client.request("PATCH", url, (f"repository:o/img:pull,push",), ok=(202, 416),
                                 headers={"Content-Range": "5-9", "Content-Length": "5"}, content=lambda: b"12345")
    assert response.status_code == 416
    assert up.upload(sha256(data), blob_file(tmp_path, data)) == PUSHED


def test_mount_from_another_repository_sends_no_bytes(tmp_path):
    registry, data = FakeRegistry(), b"shared layer"
    registry.blobs["o/base"] = {sha256(data): data}
    assert uploader(registry).upload(sha256(data), blob_file(tmp_path, data), mount_from="o/base") == MOUNTED
    assert registry.blobs["o/img"][sha256(data)] == data
    assert not any(method in ("PUT", "PATCH") for method, _ in registry.requests)


def test_wrong_digest_is_refused_by_the_registry(tmp_path):
    registry = FakeRegistry()
    with pytest.raises(RegistryError) as caught:
        uploader(registry).upload(sha256(b"other"), blob_file(tmp_path, b"bytes"))
    assert caught.value.status == 400


def test_manifest_put_get_head_delete():
    registry = FakeRegistry()
    data = b'{"schemaVersion":2,"mediaType":"%s","layers":[]}' % OCI_MANIFEST.encode()
    with registry.client() as client:
        digest = client.put_manifest("o/img", "1.0", data, OCI_MANIFEST)
        assert digest == sha256(data)
        assert client.get_manifest("o/img", "1.0") == (data, OCI_MANIFEST, digest)
        assert client.get_manifest("o/img", digest)[2] == digest
        assert client.head_manifest("o/img", "1.0") == digest
        assert client.head_manifest("o/img", "2.0") is None
        client.delete_manifest("o/img", digest)
        with pytest.raises(NotFoundError):
            client.get_manifest("o/img", "1.0")


def test_manifest_whose_bytes_do_not_match_the_digest_asked_for_is_refused():
    registry = FakeRegistry()
    data = b'{"schemaVersion":2,"layers":[]}'
    registry.manifests["o/img"] = {"sha256:" + "0" * 64: (data, OCI_MANIFEST)}
    with registry.client() as client, pytest.raises(NotFoundError, match="whose digest is"):
        client.get_manifest("o/img", "sha256:" + "0" * 64)


def test_tags_are_paged_with_n_and_link():
    registry = FakeRegistry()
    registry.tags["o/img"] = {f"t{n:02}": "sha256:x" for n in range(25)}
    with registry.client() as client:
        assert list(client.list_tags("o/img", page_size=10)) == sorted(registry.tags["o/img"])
    pages = [path for method, path in registry.requests if path.endswith("/tags/list")]
    assert len(pages) == 3


def test_blob_download_with_range():
    registry = FakeRegistry()
    registry.blobs["o/img"] = {sha256(b"0123456789"): b"0123456789"}
    with registry.client() as client:
        with client.open_blob("o/img", sha256(b"0123456789"), start=4) as response:
            assert response.status_code == 206 and response.read() == b"456789"
