"""OCI distribution API, blob push: monolithic, POST+PUT, chunked (416 out of order), status, cancel, mount,
sha512, and the one content-addressed store shared with model files."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from ngc_registry.server.app import create_app
from ngc_registry.server.db.tables import Blob, ImageUpload

from .conftest import ORG
from .oci_support import Oci, error_code, repo, sha256, sha512

APP = repo("app")
UPLOADS = f"/v2/{APP}/blobs/uploads/"


@pytest.fixture
def oci(registry) -> Oci:
    return Oci(registry, registry.admin_key)


def stored_files(registry) -> list[str]:
    root = registry.client.app.state.settings.blob_dir
    return sorted(p.name for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"
                  and "uploads" not in p.parts)


def start(oci: Oci, name: str = APP) -> str:
    response = oci.call("POST", f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202, response.text
    assert response.headers["range"] == "0-0" and response.headers["docker-upload-uuid"]
    return response.headers["location"]


def test_monolithic_post_with_digest(registry, oci):
    data = b"monolithic blob"
    response = oci.call("POST", f"{UPLOADS}?digest={sha256(data)}", content=data)
    assert response.status_code == 201
    assert response.headers["location"] == f"/v2/{APP}/blobs/{sha256(data)}"
    assert response.headers["docker-content-digest"] == sha256(data)
    assert oci.call("GET", response.headers["location"]).content == data


def test_monolithic_post_with_a_wrong_digest_stores_nothing(registry, oci):
    before = stored_files(registry)
    response = oci.call("POST", f"{UPLOADS}?digest={sha256(b'other')}", content=b"actual")
    assert response.status_code == 400 and error_code(response) == "DIGEST_INVALID"
    assert stored_files(registry) == before
    assert oci.call("HEAD", f"/v2/{APP}/blobs/{sha256(b'actual')}").status_code == 404


def test_post_then_put_with_the_body(oci):
    location = start(oci)
    data = b"x" * 3000
    done = oci.call("PUT", f"{location}?digest={sha256(data)}", content=data)
    assert done.status_code == 201 and done.headers["location"] == f"/v2/{APP}/blobs/{sha256(data)}"
    assert oci.call("GET", f"/v2/{APP}/blobs/{sha256(data)}").content == data


def test_chunked_upload_with_an_out_of_order_chunk_and_a_retry(oci):
    data = bytes(range(256)) * 100
    first, second = data[:10000], data[10000:]
    location = start(oci)
    out_of_order = oci.call("PATCH", location, content=second, headers={"Content-Range": f"10000-{len(data) - 1}"})
    assert out_of_order.status_code == 416 and error_code(out_of_order) == "BLOB_UPLOAD_INVALID"
    accepted = oci.call("PATCH", location, content=first, headers={"Content-Range": "0-9999"})
    assert accepted.status_code == 202 and accepted.headers["range"] == "0-9999"
    assert accepted.headers["location"] == location
    assert oci.call("PATCH", location, content=first, headers={"Content-Range": "0-9999"}).status_code == 416
    status = oci.call("GET", location)
    assert status.status_code == 204 and status.headers["range"] == "0-9999" and status.headers["location"] == location
    assert oci.call("PATCH", location, content=second,
                    headers={"Content-Range": f"10000-{len(data) - 1}"}).headers["range"] == f"0-{len(data) - 1}"
    done = oci.call("PUT", f"{location}?digest={sha256(data)}", headers={"Content-Length": "0"})
    assert done.status_code == 201
    assert oci.call("GET", f"/v2/{APP}/blobs/{sha256(data)}").content == data


def test_chunked_upload_closed_by_a_put_with_the_last_chunk(oci):
    data = b"0123456789" * 500
    location = start(oci)
    assert oci.call("PATCH", location, content=data[:2000], headers={"Content-Range": "0-1999"}).status_code == 202
    done = oci.call("PUT", f"{location}?digest={sha256(data)}", content=data[2000:],
                    headers={"Content-Range": f"2000-{len(data) - 1}"})
    assert done.status_code == 201
    assert oci.call("GET", f"/v2/{APP}/blobs/{sha256(data)}").content == data


def test_streamed_patches_without_content_range_append(oci):
    location = start(oci)
    for piece in (b"alpha-", b"beta-", b"gamma"):
        assert oci.call("PATCH", location, content=piece).status_code == 202
    assert oci.call("GET", location).headers["range"] == "0-15"
    assert oci.call("PUT", f"{location}?digest={sha256(b'alpha-beta-gamma')}").status_code == 201


def test_chunk_whose_length_differs_from_its_content_range(oci):
    location = start(oci)
    response = oci.call("PATCH", location, content=b"12345", headers={"Content-Range": "0-9"})
    assert response.status_code == 400 and error_code(response) == "SIZE_INVALID"
    assert oci.call("GET", location).headers["range"] == "0-0"


def test_put_with_a_wrong_or_missing_digest(oci):
    location = start(oci)
    oci.call("PATCH", location, content=b"content")
    missing = oci.call("PUT", location)
    assert missing.status_code == 400 and error_code(missing) == "DIGEST_INVALID"
    wrong = oci.call("PUT", f"{location}?digest={sha256(b'different')}")
    assert wrong.status_code == 400 and error_code(wrong) == "DIGEST_INVALID"
    gone = oci.call("GET", location)
    assert gone.status_code == 404 and error_code(gone) == "BLOB_UPLOAD_UNKNOWN"


def test_cancel_and_unknown_sessions(registry, oci):
    location = start(oci)
    oci.call("PATCH", location, content=b"partial")
    assert oci.call("DELETE", location).status_code == 204
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        response = oci.call(method, location)
        assert response.status_code == 404 and error_code(response) == "BLOB_UPLOAD_UNKNOWN", method
    other_repo = start(oci).replace(APP, repo("other"))
    assert oci.call("GET", other_repo).status_code == 404
    upload_dir = registry.client.app.state.settings.blob_dir / "uploads" / location.rsplit("/", 1)[1]
    assert not upload_dir.exists()


def test_an_empty_blob(oci):
    location = start(oci)
    assert oci.call("PUT", f"{location}?digest={sha256(b'')}").status_code == 201
    got = oci.call("GET", f"/v2/{APP}/blobs/{sha256(b'')}")
    assert got.status_code == 200 and got.content == b""


def test_sha512_digests(oci):
    data = b"sha512 content" * 100
    assert oci.call("POST", f"{UPLOADS}?digest={sha512(data)}", content=data).status_code == 201
    location = start(oci)
    oci.call("PATCH", location, content=data[:100], headers={"Content-Range": "0-99"})
    oci.call("PATCH", location, content=data[100:], headers={"Content-Range": f"100-{len(data) - 1}"})
    assert oci.call("PUT", f"{location}?digest={sha512(data + b'!')}").status_code == 400
    location = start(oci)
    oci.call("PATCH", location, content=data)
    assert oci.call("PUT", f"{location}?digest={sha512(data)}").status_code == 201
    got = oci.call("GET", f"/v2/{APP}/blobs/{sha512(data)}")
    assert got.status_code == 200 and got.content == data and got.headers["docker-content-digest"] == sha512(data)


def test_upload_sessions_live_in_the_database_so_another_replica_continues_them(registry, oci, settings):
    location = start(oci)
    oci.call("PATCH", location, content=b"first half,", headers={"Content-Range": "0-10"})
    other = create_app(settings)
    with TestClient(other) as replica:
        second = replica.patch(location, content=b" second half", headers={**oci.auth, "Content-Range": "11-22"})
        assert second.status_code == 202 and second.headers["range"] == "0-22"
        data = b"first half, second half"
        assert replica.put(f"{location}?digest={sha256(data)}", headers=oci.auth).status_code == 201
    assert oci.call("GET", f"/v2/{APP}/blobs/{sha256(data)}").content == data
    with registry.client.app.state.sessions.begin() as session:
        assert session.scalar(select(ImageUpload.id)) is None


def test_cross_repository_mount(registry, oci):
    digest = oci.push_blob(repo("source"), b"shared layer")
    mounted = oci.call("POST", f"{UPLOADS}?mount={digest}&from={repo('source')}")
    assert mounted.status_code == 201 and mounted.headers["location"] == f"/v2/{APP}/blobs/{digest}"
    assert oci.call("GET", f"/v2/{APP}/blobs/{digest}").content == b"shared layer"
    for query in (f"mount={sha256(b'unknown')}&from={repo('source')}", f"mount={digest}",
                  f"mount={digest}&from={repo('nowhere')}", "mount=sha256:bad&from=x/y"):
        fallback = oci.call("POST", f"/v2/{repo('third')}/blobs/uploads/?{query}")
        assert fallback.status_code == 202 and fallback.headers["location"].startswith(
            f"/v2/{repo('third')}/blobs/uploads/"), query


def test_mount_needs_read_access_to_the_source(registry, oci):
    registry.add_team("secret")
    registry.add_team("mine")
    digest = oci.push_blob(f"{ORG}/secret/vault", b"team only")
    writer = Oci(registry, registry.add_user("w@example.com", ["REGISTRY_WRITE_USER_ROLE"], team="mine"))
    response = writer.call("POST", f"/v2/{ORG}/mine/app/blobs/uploads/?mount={digest}&from={ORG}/secret/vault")
    assert response.status_code == 202
    assert writer.call("HEAD", f"/v2/{ORG}/mine/app/blobs/{digest}").status_code == 404


@pytest.mark.filesystem_store  # looks at the store's files / at every log record (boto's debug)
def test_one_store_for_layers_and_model_files(registry, oci):
    data = b"the same bytes in two repositories"
    oci.push_blob(repo("one"), data)
    files_after_first = stored_files(registry)
    oci.push_blob(repo("two"), data)
    assert stored_files(registry) == files_after_first
    assert files_after_first.count(sha256(data).split(":")[1]) == 1
    with registry.client.app.state.sessions.begin() as session:
        assert session.get(Blob, sha256(data)).size == len(data)


@pytest.mark.filesystem_store  # looks at the store's files / at every log record (boto's debug)
def test_delete_blob_unlinks_it_from_one_repository_only(registry, oci):
    digest = oci.push_blob(repo("one"), b"layer")
    oci.push_blob(repo("two"), b"layer")
    assert oci.call("DELETE", f"/v2/{repo('one')}/blobs/{digest}").status_code == 202
    assert oci.call("HEAD", f"/v2/{repo('one')}/blobs/{digest}").status_code == 404
    assert oci.call("HEAD", f"/v2/{repo('two')}/blobs/{digest}").status_code == 200
    again = oci.call("DELETE", f"/v2/{repo('one')}/blobs/{digest}")
    assert again.status_code == 404 and error_code(again) == "BLOB_UNKNOWN"
    assert digest.split(":")[1] in stored_files(registry)
