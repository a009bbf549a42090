"""OCI distribution API, read side: base, manifests and blobs (GET, HEAD, Range), tags, catalog, referrers."""

from __future__ import annotations

import json

import pytest

from .conftest import ORG
from .oci_support import OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, Oci, descriptor, error_code, repo, sha256


@pytest.fixture
def oci(registry) -> Oci:
    return Oci(registry, registry.admin_key)


def test_base_asks_for_a_token_without_credentials_and_answers_with_them(registry, oci):
    anonymous = registry.client.get("/v2/")
    assert anonymous.status_code == 401 and error_code(anonymous) == "UNAUTHORIZED"
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="http://testserver/token",service="testserver"'
    assert oci.call("GET", "/v2/").status_code == 200
    bearer = registry.client.get("/v2/", headers=registry.headers(registry.admin_key))
    assert bearer.status_code == 200 and bearer.headers["docker-distribution-api-version"] == "registry/2.0"


def test_manifest_by_tag_and_by_digest_with_get_and_head(oci):
    digest, body = oci.push_image(repo("app"), "v1")
    for reference in ("v1", digest):
        got = oci.call("GET", f"/v2/{repo('app')}/manifests/{reference}")
        assert got.status_code == 200 and got.content == body
        assert got.headers["content-type"] == OCI_MANIFEST and got.headers["docker-content-digest"] == digest
        assert got.headers["content-length"] == str(len(body))
        head = oci.call("HEAD", f"/v2/{repo('app')}/manifests/{reference}")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["docker-content-digest"] == digest and head.headers["content-length"] == str(len(body))


@pytest.mark.parametrize("reference", ["nope", ".INVALID_MANIFEST_NAME", "sha256:" + "0" * 64, "sha256:bad"])
def test_unknown_manifests_are_404_manifest_unknown(oci, reference):
    oci.push_image(repo("app"), "v1")
    for method in ("GET", "HEAD"):
        response = oci.call(method, f"/v2/{repo('app')}/manifests/{reference}")
        assert response.status_code == 404
    assert error_code(oci.call("GET", f"/v2/{repo('app')}/manifests/{reference}")) == "MANIFEST_UNKNOWN"


@pytest.mark.parametrize("name,status,code", [
    (f"{ORG}/never-pushed", 404, "NAME_UNKNOWN"),
    ("no-such-org/app", 404, "NAME_UNKNOWN"),
    (f"{ORG}/no-such-team/app", 404, "NAME_UNKNOWN"),
    (f"{ORG}/Upper", 400, "NAME_INVALID"),
    (f"{ORG}/a/b/c", 400, "NAME_INVALID"),
    ("single", 400, "NAME_INVALID"),
])
def test_repository_names_unknown_or_invalid(oci, name, status, code):
    response = oci.call("GET", f"/v2/{name}/manifests/latest")
    assert response.status_code == status and error_code(response) == code
    assert oci.call("GET", f"/v2/{name}/tags/list").status_code == status


def test_blob_get_head_and_range(oci):
    data = bytes(range(256)) * 40
    digest = oci.push_blob(repo("app"), data)
    path = f"/v2/{repo('app')}/blobs/{digest}"
    got = oci.call("GET", path)
    assert got.status_code == 200 and got.content == data and got.headers["docker-content-digest"] == digest
    assert got.headers["content-type"] == "application/octet-stream"
    head = oci.call("HEAD", path)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(data))
    assert head.headers["accept-ranges"] == "bytes"
    ranged = oci.call("GET", path, headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == data[100:200]
    assert ranged.headers["content-range"] == f"bytes 100-199/{len(data)}"


def test_unknown_blobs_and_blobs_of_other_repositories_are_404(oci):
    digest = oci.push_blob(repo("one"), b"only in one")
    oci.push_blob(repo("two"), b"something else")
    for method in ("GET", "HEAD"):
        assert oci.call(method, f"/v2/{repo('two')}/blobs/{digest}").status_code == 404
    unknown = oci.call("GET", f"/v2/{repo('one')}/blobs/{sha256(b'never')}")
    assert unknown.status_code == 404 and error_code(unknown) == "BLOB_UNKNOWN"
    assert unknown.json()["errors"][0]["detail"] == {"digest": sha256(b"never")}
    invalid = oci.call("GET", f"/v2/{repo('one')}/blobs/sha256:xyz")
    assert invalid.status_code == 400 and error_code(invalid) == "DIGEST_INVALID"


def test_tags_list_is_lexical_and_pages_with_n_last_and_link(oci):
    _digest, body = oci.push_image(repo("app"), "v1")
    for tag in ("b", "a", "c", "D"):
        assert oci.put_manifest(repo("app"), tag, body).status_code == 201
    everything = oci.call("GET", f"/v2/{repo('app')}/tags/list")
    assert everything.json() == {"name": repo("app"), "tags": ["D", "a", "b", "c", "v1"]}
    assert "link" not in everything.headers
    first = oci.call("GET", f"/v2/{repo('app')}/tags/list?n=2")
    assert first.json()["tags"] == ["D", "a"]
    assert first.headers["link"] == f'</v2/{repo("app")}/tags/list?n=2&last=a>; rel="next"'
    second = oci.call("GET", f"/v2/{repo('app')}/tags/list?n=2&last=a")
    assert second.json()["tags"] == ["b", "c"] and "link" in second.headers
    last = oci.call("GET", f"/v2/{repo('app')}/tags/list?n=2&last=c")
    assert last.json()["tags"] == ["v1"] and "link" not in last.headers
    assert oci.call("GET", f"/v2/{repo('app')}/tags/list?n=0").json()["tags"] == []


def test_catalog_lists_only_what_the_caller_may_view(registry, oci):
    registry.add_team("team-a")
    for name in (repo("alpha"), repo("beta"), f"{ORG}/team-a/gamma"):
        oci.push_blob(name, b"x")
    assert oci.call("GET", "/v2/_catalog").json() == {
        "repositories": [repo("alpha"), repo("beta"), f"{ORG}/team-a/gamma"]}
    page = oci.call("GET", "/v2/_catalog?n=1&last=" + repo("alpha"))
    assert page.json()["repositories"] == [repo("beta")]
    assert page.headers["link"] == f'</v2/_catalog?n=1&last={ORG}%2Fbeta>; rel="next"'
    team_user = Oci(registry, registry.add_user("t@example.com", ["REGISTRY_READ"], team="team-a"))
    assert team_user.call("GET", "/v2/_catalog").json()["repositories"] == [f"{ORG}/team-a/gamma"]
    assert Oci(registry, None).call("GET", "/v2/_catalog").json()["repositories"] == []


def _artifact(oci, name, subject: dict, artifact_type: str | None, annotation: str, config_type=OCI_EMPTY) -> str:
    empty = oci.push_blob(name, b"{}")
    layer = oci.push_blob(name, annotation.encode())
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": config_type, "digest": empty, "size": 2},
                "layers": [{"mediaType": "text/plain", "digest": layer, "size": len(annotation)}],
                "subject": subject, "annotations": {"note": annotation}}
    if artifact_type:
        document["artifactType"] = artifact_type
    body = json.dumps(document).encode()
    response = oci.put_manifest(repo("app"), sha256(body), body)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == subject["digest"]
    return sha256(body)


def test_referrers_list_filter_and_dangling_subjects(oci):
    digest, body = oci.push_image(repo("app"), "v1")
    subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}
    signature = _artifact(oci, repo("app"), subject, "application/vnd.example.signature", "sig")
    sbom = _artifact(oci, repo("app"), subject, None, "sbom", config_type="application/vnd.example.sbom")
    dangling = {"mediaType": OCI_MANIFEST, "digest": sha256(b"not pushed"), "size": 10}
    orphan = _artifact(oci, repo("app"), dangling, "application/vnd.example.signature", "orphan")

    listed = oci.call("GET", f"/v2/{repo('app')}/referrers/{digest}")
    assert listed.status_code == 200 and listed.headers["content-type"] == OCI_INDEX
    assert "oci-filters-applied" not in listed.headers
    manifests = listed.json()["manifests"]
    assert listed.json()["mediaType"] == OCI_INDEX and listed.json()["schemaVersion"] == 2
    assert [(m["digest"], m["artifactType"], m["annotations"]) for m in manifests] == [
        (signature, "application/vnd.example.signature", {"note": "sig"}),
        (sbom, "application/vnd.example.sbom", {"note": "sbom"})]
    filtered = oci.call("GET", f"/v2/{repo('app')}/referrers/{digest}?artifactType=application/vnd.example.sbom")
    assert [m["digest"] for m in filtered.json()["manifests"]] == [sbom]
    assert filtered.headers["oci-filters-applied"] == "artifactType"
    to_missing = oci.call("GET", f"/v2/{repo('app')}/referrers/{dangling['digest']}").json()["manifests"]
    assert [m["digest"] for m in to_missing] == [orphan]
    nothing = oci.call("GET", f"/v2/{repo('app')}/referrers/{sha256(b'nothing')}")
    assert nothing.status_code == 200 and nothing.json()["manifests"] == []
    assert oci.call("GET", f"/v2/{repo('app')}/referrers/sha256:bad").status_code == 400


def test_an_index_can_be_a_referrer_too(oci):
    digest, body = oci.push_image(repo("app"), "v1")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": "application/vnd.example.bundle",
             "manifests": [descriptor(body, OCI_MANIFEST)], "subject": descriptor(body, OCI_MANIFEST)}
    response = oci.put_manifest(repo("app"), "bundle", index)
    assert response.status_code == 201 and response.headers["oci-subject"] == digest
    found = oci.call("GET", f"/v2/{repo('app')}/referrers/{digest}").json()["manifests"]
    assert [(m["mediaType"], m["artifactType"]) for m in found] == [(OCI_INDEX, "application/vnd.example.bundle")]
