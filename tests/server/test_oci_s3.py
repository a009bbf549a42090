"""The OCI API on an S3 store (a real Swift): pushes land in the bucket only once verified, pulls redirect to a
presigned URL, or stream through the server with ranges when the redirect is turned off."""

from __future__ import annotations

import dataclasses
import os
import shutil

import httpx
import pytest
from starlette.testclient import TestClient

from ngc_registry.server.app import create_app
from ngc_registry.server.services.bootstrap import initialise
from ngc_registry.server.settings import Settings

from ..swift import swift  # noqa: F401  (fixture)
from .conftest import ORG, Registry
from .oci_support import Oci, sha256, sha512

MiB = 1 << 20
NAME = f"{ORG}/s3-app"


@pytest.fixture
def s3_settings(swift, tmp_path, sqlite_template) -> Settings:  # noqa: F811
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "registry.db")
    env = swift.env()
    return Settings(data_dir=data_dir, storage=f"s3://{swift.new_bucket()}/reg", s3_endpoint_url=swift.endpoint,
                    s3_access_key_id=env["AWS_ACCESS_KEY_ID"], s3_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                    s3_redirect=False)


def _registry(settings: Settings, key: str | None = None) -> Registry:
    key = key or initialise(settings, ORG, "admin@example.com", "Admin").api_key
    return Registry(client=TestClient(create_app(settings)), admin_key=key)


@pytest.fixture
def oci(s3_settings):
    registry = _registry(s3_settings)
    with registry.client:
        yield Oci(registry, registry.admin_key)


def keys(oci: Oci) -> list[str]:
    store = oci.client.app.state.store
    return [item["Key"] for item in store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])]


def test_a_wrong_digest_leaves_nothing_in_the_bucket(oci):
    assert oci.call("POST", f"/v2/{NAME}/blobs/uploads/?digest={sha256(b'other')}", content=b"data").status_code == 400
    location = oci.call("POST", f"/v2/{NAME}/blobs/uploads/").headers["Location"]
    assert oci.call("PATCH", location, content=os.urandom(9 * MiB)).status_code == 202
    assert oci.call("PUT", f"{location}?digest={sha256(b'other')}").status_code == 400
    assert keys(oci) == []


def test_chunks_sha512_manifests_and_ranged_pulls_through_the_server(oci):
    blob = os.urandom(10 * MiB + 3)
    location = oci.call("POST", f"/v2/{NAME}/blobs/uploads/").headers["Location"]
    for start in range(0, len(blob), 4 * MiB):
        chunk = blob[start:start + 4 * MiB]
        sent = oci.call("PATCH", location, content=chunk,
                        headers={"Content-Range": f"{start}-{start + len(chunk) - 1}"})
        assert sent.status_code == 202, sent.text
        location = sent.headers["Location"]
    assert oci.call("PUT", f"{location}?digest={sha512(blob)}").status_code == 201
    digest, body = oci.push_image(NAME, "v1", [b"layer"])
    pulled = oci.call("GET", f"/v2/{NAME}/manifests/v1")
    assert pulled.status_code == 200 and pulled.content == body
    whole = oci.call("GET", f"/v2/{NAME}/blobs/{sha512(blob)}")
    assert whole.status_code == 200 and whole.content == blob
    part = oci.call("GET", f"/v2/{NAME}/blobs/{sha512(blob)}", headers={"Range": "bytes=8388600-8388615"})
    assert part.status_code == 206 and part.content == blob[8388600:8388616]
    assert part.headers["content-range"] == f"bytes 8388600-8388615/{len(blob)}"
    head = oci.call("HEAD", f"/v2/{NAME}/blobs/{sha512(blob)}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(blob))
    assert not [key for key in keys(oci) if "/blobs/" not in key]  # no upload or temp object left


def test_pulls_redirect_to_a_presigned_url(oci, s3_settings):
    digest = oci.push_blob(NAME, b"redirected layer")
    registry = _registry(dataclasses.replace(s3_settings, s3_redirect=True), key="initialised already")
    with registry.client:
        answer = Oci(registry, None, headers=oci.auth).call("GET", f"/v2/{NAME}/blobs/{digest}",
                                                             follow_redirects=False)
        assert answer.status_code == 307 and answer.headers["docker-content-digest"] == digest
        assert answer.headers["location"].startswith(s3_settings.s3_endpoint_url + "/")
        assert httpx.get(answer.headers["location"]).content == b"redirected layer"
