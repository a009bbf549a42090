"""Hostile input over HTTP: oversized bodies get 413 with the envelope, malformed ones a 400 (never a 500), path
tricks in versions and names are refused, and Range / Content-Range headers of any shape are handled."""

from __future__ import annotations

import base64
import hashlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ORG
from .oci_support import Oci, repo

MiB = 1 << 20
SPACE = f"/v2/org/{ORG}"


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def call(registry, method: str, path: str, key: str | None, headers: dict | None = None, **kwargs):
    return registry.client.request(method, path, headers={**registry.headers(key), **(headers or {})}, **kwargs)


def status_code(response) -> str:
    body = response.json()
    return body["requestStatus"]["statusCode"] if "requestStatus" in body else body["errors"][0]["code"]


@pytest.fixture
def model(registry):
    """acme/m with a pending version `1`."""
    key = registry.admin_key
    assert registry.call("POST", f"{SPACE}/models", key, json={"name": "m"}).status_code == 200
    assert registry.call("POST", f"{SPACE}/models/m/versions", key, json={"versionId": "1"}).status_code == 200
    return "m"


def test_bodies_over_the_limit_get_413_in_the_envelope_declared_or_streamed(registry):
    key, big = registry.admin_key, b'{"name": "' + b"x" * (2 * MiB) + b'"}'

    def streamed():
        yield big[:MiB]
        yield big[MiB:]

    for content in (big, streamed()):
        response = call(registry, "POST", f"{SPACE}/models", key, content=content,
                        headers={"Content-Type": "application/json"})
        assert response.status_code == 413 and status_code(response) == "PAYLOAD_TOO_LARGE", response.text
    form = registry.client.post("/login", content=b"email=" + b"a" * (2 * MiB),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 413
    manifest = Oci(registry, key).call("PUT", f"/v2/{repo('img')}/manifests/1", content=b"{" * (5 * MiB),
                                       headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert manifest.status_code == 413 and status_code(manifest) == "SIZE_INVALID"


def test_hostile_json_and_queries_are_refused_not_crashed(registry, model):
    key = registry.admin_key
    hostile = [
        ("POST", f"{SPACE}/models", {"content": b"[" * 100_000, "headers": {"Content-Type": "application/json"}}),
        ("POST", f"{SPACE}/models/m/versions", {"content": b'{"versionId": "2", "accuracyReached": NaN}',
                                                "headers": {"Content-Type": "application/json"}}),
        ("POST", f"{SPACE}/models/m/versions", {"content": b'{"versionId": "3", "customMetrics": [{"name": "t", '
                                                b'"attributes": [{"key": "k", "value": Infinity}]}]}',
                                                "headers": {"Content-Type": "application/json"}}),
        ("GET", "/v2/search/catalog/resources/MODEL?q=" + "[" * 5000, {}),
        ("GET", '/v2/search/catalog/resources/MODEL?q={"page": 1e999}', {}),
        ("GET", '/v2/search/catalog/resources/MODEL?q={"page": 100000000000000000000}', {}),
        ("GET", f'{SPACE}/users?q={{"filters": 5}}', {}),
        ("GET", f"{SPACE}/users?page-number=100000000000000000000", {}),
        ("GET", f"{SPACE}/users/{'9' * 30}", {}),
        ("DELETE", f"/v3/keys/{'9' * 30}", {}),
        ("GET", f"/v2/{repo('img')}/tags/list?n=100000000000000000000", {}),
        ("GET", f"{SPACE}/models/m/versions/1?team=%00", {}),  # PostgreSQL refuses NUL in text: 400, not 500
        ("GET", f"{SPACE}/models/m%00/versions/1", {}),
        ("POST", f"{SPACE}/files/multipart", {"json": {"name": "m", "version": "1", "filePath": "a.bin",
                                                       "size": 10**20}}),
    ]
    for method, path, kwargs in hostile:
        response = call(registry, method, path, key, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text[:300])


BAD_PATHS = ["../escape.bin", "/etc/passwd", "a/../../b", "a\\b", "a\x00b", "a\nb", "a/\u202eb", "a//b", "./a",
             "x" * 1100, "a/\uff0e\uff0e/b", "a\u2215b", "e\u0301.bin", "\u2024\u2024/x", "a/\u200bb"]


def test_path_tricks_inside_versions_are_refused(registry, model):
    key = registry.admin_key
    for path in BAD_PATHS:
        body = {"name": "m", "version": "1", "artifactType": "models", "filePath": path, "size": 1}
        started = registry.call("POST", f"{SPACE}/files/multipart", key, json=body)
        assert started.status_code == 400, (path, started.text)
        commit = {"name": "m", "version": "1", "files": [{"filePath": path, "sha256": b64sha(b"x")}]}
        assert registry.call("POST", f"{SPACE}/files/commit", key, json=commit).status_code == 400, path
    listed = registry.call("GET", f"{SPACE}/models/m/versions/1/files", key).json()["modelFiles"]
    assert listed == []


@pytest.mark.parametrize("version", ["../1", "1/2", "1\n", " 1", ".hidden", "1\x00", "x" * 129, "-1"])
def test_version_ids_that_would_name_a_strange_directory_are_refused(registry, model, version):
    response = registry.call("POST", f"{SPACE}/models/m/versions", registry.admin_key, json={"versionId": version})
    assert response.status_code == 400, response.text


def test_names_tags_and_digests_with_a_trailing_newline_are_refused(registry):
    key, oci = registry.admin_key, Oci(registry, registry.admin_key)
    assert registry.call("POST", f"{SPACE}/models", key, json={"name": "m\n"}).status_code == 400
    _, body = oci.push_image(repo("img"), "1")
    tagged = oci.put_manifest(repo("img"), "v1%0A", body)
    assert tagged.status_code == 400 and status_code(tagged) == "TAG_INVALID"
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    assert oci.call("GET", f"/v2/{repo('img')}/manifests/{digest}%0A").status_code in (400, 404)
    assert oci.call("GET", f"/v2/{repo('img')}/tags/list").json()["tags"] == ["1"]


HEADERS = st.one_of(st.text(max_size=40).map(str.strip), st.from_regex(r"\Abytes=[0-9]{0,25}-[0-9]{0,25}(,[0-9]*-[0-9]*)*\Z"),
                    st.sampled_from(["bytes=-0", "bytes=0-", "bytes=5-1", "bytes=0-99999999999999999999",
                                     "bytes=\u0661-\u0662", "0-0", "bytes 0-1/2", "bytes=0-1\n"]))


@settings(max_examples=40, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(range_header=HEADERS, content_range=HEADERS)
def test_any_range_or_content_range_header_is_served_or_refused_cleanly(registry, range_header, content_range):
    oci = Oci(registry, registry.admin_key)
    name, layer = repo("ranged"), b"0123456789" * 10
    digest = oci.push_blob(name, layer)
    ranged = oci.call("GET", f"/v2/{name}/blobs/{digest}", headers={"Range": range_header.encode()})
    assert ranged.status_code in (200, 206, 400, 416), (range_header, ranged.status_code)
    if ranged.status_code == 206:
        assert ranged.content and ranged.content in layer
    started = oci.call("POST", f"/v2/{name}/blobs/uploads/")
    chunk = oci.call("PATCH", started.headers["location"], content=b"abc",
                     headers={"Content-Range": content_range.encode()})
    assert chunk.status_code in (202, 400, 416), (content_range, chunk.status_code, chunk.text)
