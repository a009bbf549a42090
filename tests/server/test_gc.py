"""Garbage collection: what is live, the grace period, re-use, stale uploads, orphaned bytes, dry runs."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from .oci_support import Oci, repo, sha256
from .ops_support import (
    FILES,
    age_everything,
    blob_rows,
    collect,
    download,
    image,
    local,
    model,
    store,
    stored_digests,
)

pytestmark = pytest.mark.filesystem_store  # looks at the files of the store itself

LAYERS = [b"layer one " * 100, b"layer two " * 100]


def test_dry_run_changes_nothing_and_a_sweep_keeps_everything_referenced(registry):
    flow = model(registry, "kept", "1", FILES)
    model(registry, "dropped", "1", {"only-here.bin": b"dropped content " * 50})
    image(registry, "kept-image", "v1", LAYERS)
    _, manifest = Oci(registry, registry.admin_key).push_image(repo("dropped-image"), "v1", [b"dropped layer " * 40])
    assert flow.call("DELETE", "/models/dropped").status_code == 200
    assert registry.call("DELETE", "/v2/org/acme/repos/dropped-image", registry.admin_key).status_code == 200
    age_everything(registry)
    before = stored_digests(registry)

    dry = collect(registry, dry_run=True)
    assert (dry.blobs, dry.freed_bytes) == (3, 800 + 560 + len(manifest))  # the file, the layer, the manifest
    assert stored_digests(registry) == before and set(blob_rows(registry)) == before
    assert "dry run, nothing changed" in dry.summary()

    done = collect(registry)
    assert (done.blobs, done.blob_bytes) == (dry.blobs, dry.blob_bytes)
    assert sha256(b"dropped content " * 50) not in stored_digests(registry)
    assert sha256(b"dropped layer " * 40) not in stored_digests(registry)
    assert len(stored_digests(registry)) == len(before) - 3 and set(blob_rows(registry)) == stored_digests(registry)
    assert download(registry, flow, "kept", "1") == FILES
    pulled = Oci(registry, registry.admin_key).call("GET", f"/v2/{repo('kept-image')}/blobs/{sha256(LAYERS[0])}")
    assert pulled.content == LAYERS[0]
    assert collect(registry).freed_objects == 0


def test_the_grace_period_spares_new_blobs(registry):
    flow = model(registry, "m", "1", {"a.bin": b"a" * 1000})
    assert flow.call("DELETE", "/models/m").status_code == 200
    assert collect(registry, grace=3600).blobs == 0
    assert collect(registry, grace=0).blobs == 1


def test_re_uploading_content_refreshes_it_so_it_survives_the_grace_period(registry):
    flow = model(registry, "m", "1", {"a.bin": b"content" * 100})
    assert flow.call("DELETE", "/models/m/versions/1").status_code == 200
    age_everything(registry)
    flow.upload("m", "2", {"again.bin": b"content" * 100})  # completes onto the existing blob
    image(registry, "i", "v1", LAYERS)
    assert registry.call("DELETE", "/v2/org/acme/repos/i", registry.admin_key).status_code == 200
    age_everything(registry)
    Oci(registry, registry.admin_key).push_blob(repo("j"), LAYERS[0])  # the same layer, pushed again
    report = collect(registry, grace=3600)
    assert sha256(LAYERS[0]) in stored_digests(registry) and sha256(LAYERS[1]) not in stored_digests(registry)
    assert report.blobs == 3  # the other layer, the config and the manifest


def test_stale_upload_sessions_expire_with_their_parts(registry):
    flow = model(registry, "m", "1", {"a.bin": b"x"})
    assert flow.call("POST", "/models/m/versions", json={"versionId": "2"}).status_code == 200
    body = {"name": "m", "version": "2", "artifactType": "models", "filePath": "big.bin", "size": 5}
    started = flow.call("POST", "/files/multipart", json=body).json()
    assert registry.client.put(local(started["urls"][0]), content=b"12345").status_code == 200
    oci = Oci(registry, registry.admin_key)
    location = oci.call("POST", f"/v2/{repo('i')}/blobs/uploads/").headers["Location"]
    assert oci.call("PATCH", location, content=b"chunk", headers={"Content-Range": "0-4"}).status_code == 202
    uploads = store(registry).root / "uploads"
    assert len(list(uploads.iterdir())) == 2

    assert collect(registry, upload_ttl=3600).ngc_uploads == 0
    age_everything(registry)
    report = collect(registry, upload_ttl=3600)
    assert (report.ngc_uploads, report.oci_uploads) == (2, 1)  # the one in progress and version 1's completed one
    assert list(uploads.iterdir()) == []
    assert oci.call("GET", location).status_code == 404
    assert flow.call("PUT", "/files/multipart", json={**body, "uploadID": started["uploadID"]}).status_code == 404


def _plant(path, data: bytes, age: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (time.time() - age, time.time() - age))


def test_bytes_without_a_row_and_old_temporary_files_are_swept(registry):
    root = store(registry).root
    orphan = b"published, then the server crashed before its commit"
    digest = "sha256:" + hashlib.sha256(orphan).hexdigest()
    _plant(store(registry).blob_path(digest), orphan, 7200)
    _plant(root / "tmp" / "leftover", b"partial", 7 * 24 * 3600)
    _plant(root / "tmp" / "in-progress", b"still being written", 10)
    _plant(root / "uploads" / "no-such-upload" / "part-00001", b"lost", 7 * 24 * 3600)
    (root / "uploads" / "no-such-upload").touch()
    os.utime(root / "uploads" / "no-such-upload", (0, 0))

    report = collect(registry, grace=3600, upload_ttl=3600)
    assert (report.orphans, report.orphan_bytes) == (1, len(orphan))
    assert (report.temp_files, report.upload_areas) == (1, 1)
    assert not store(registry).has_blob(digest) and digest not in blob_rows(registry)
    assert sorted(p.name for p in (root / "tmp").iterdir()) == ["in-progress"]
    assert not (root / "uploads" / "no-such-upload").exists()
    assert "freed" in report.summary() and f"{len(orphan) + 7} bytes in 2 objects" in report.summary()
