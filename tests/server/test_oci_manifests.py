"""OCI distribution API, manifests: push checks, formats (OCI, Docker, index, artifacts), tags, delete."""

from __future__ import annotations

import json

import pytest

from .oci_support import (
    DOCKER_CONFIG,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Oci,
    config_blob,
    descriptor,
    error_code,
    repo,
    sha256,
    sha512,
)

APP = repo("app")


@pytest.fixture
def oci(registry) -> Oci:
    return Oci(registry, registry.admin_key)


def test_put_by_tag_and_by_digest(oci):
    document = oci.image_manifest(APP, [b"layer"])
    body = json.dumps(document).encode()
    by_tag = oci.put_manifest(APP, "v1", body)
    assert by_tag.status_code == 201 and by_tag.headers["docker-content-digest"] == sha256(body)
    assert by_tag.headers["location"] == f"/v2/{APP}/manifests/{sha256(body)}"
    assert "oci-subject" not in by_tag.headers
    assert oci.put_manifest(APP, sha256(body), body).status_code == 201
    by_sha512 = oci.put_manifest(APP, sha512(body), body)
    assert by_sha512.status_code == 201 and by_sha512.headers["docker-content-digest"] == sha512(body)
    assert oci.call("GET", f"/v2/{APP}/manifests/{sha512(body)}").content == body


@pytest.mark.parametrize("reference,code", [(sha256(b"something else"), "DIGEST_INVALID"),
                                            ("sha256:totallywrong", "DIGEST_INVALID"),
                                            ("bad tag!", "TAG_INVALID"), ("-leading-dash", "TAG_INVALID")])
def test_put_with_a_bad_reference(oci, reference, code):
    body = json.dumps(oci.image_manifest(APP, [b"layer"])).encode()
    response = oci.put_manifest(APP, reference, body)
    assert response.status_code == 400 and error_code(response) == code


def _with(document: dict, **changes) -> dict:
    return {**document, **changes}


def test_invalid_manifests(oci):
    good = oci.image_manifest(APP, [b"layer"])
    cases = [
        b"blablabla", b"[1, 2]", json.dumps(_with(good, schemaVersion=1)).encode(),
        json.dumps({k: v for k, v in good.items() if k != "config"}).encode(),
        json.dumps(_with(good, layers=[{"mediaType": OCI_LAYER, "digest": sha256(b"layer")}])).encode(),
        json.dumps(_with(good, layers="nope")).encode(),
        json.dumps(_with(good, mediaType="application/vnd.oci.empty.v1+json")).encode(),
        json.dumps(_with(good, annotations={"a": 1})).encode(),
        json.dumps(_with(good, layers=[{**good["layers"][0], "size": 999}])).encode(),
    ]
    for body in cases:
        response = oci.put_manifest(APP, "bad", body, OCI_MANIFEST)
        assert response.status_code == 400 and error_code(response) == "MANIFEST_INVALID", body
    mismatch = oci.put_manifest(APP, "bad", json.dumps(good).encode(), OCI_INDEX)
    assert mismatch.status_code == 400 and error_code(mismatch) == "MANIFEST_INVALID"
    unsupported = oci.put_manifest(APP, "bad", json.dumps(_with(good, mediaType="text/plain")).encode(), "text/plain")
    assert unsupported.status_code == 400 and "unsupported media type" in unsupported.json()["errors"][0]["message"]
    assert oci.call("GET", f"/v2/{APP}/manifests/bad").status_code == 404


def test_every_referenced_blob_must_be_in_the_repository(oci):
    document = oci.image_manifest(APP, [b"present"])
    document["layers"].append(descriptor(b"never pushed", OCI_LAYER))
    response = oci.put_manifest(APP, "v1", document)
    assert response.status_code == 400 and error_code(response) == "MANIFEST_BLOB_UNKNOWN"
    assert response.json()["errors"][0]["detail"] == {"digest": sha256(b"never pushed")}
    elsewhere = oci.image_manifest(repo("elsewhere"), [b"only elsewhere"])
    assert error_code(oci.put_manifest(APP, "v2", elsewhere)) == "MANIFEST_BLOB_UNKNOWN"


def test_layers_served_from_elsewhere_need_not_be_pushed(oci):
    document = oci.image_manifest(APP, [])
    foreign = {**descriptor(b"windows base", "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
               "urls": ["https://example.com/layer"]}
    assert oci.put_manifest(APP, "v1", _with(document, layers=[foreign])).status_code == 201


def test_a_manifest_without_layers_and_an_oversized_one(registry, oci):
    assert oci.put_manifest(APP, "empty", oci.image_manifest(APP, [])).status_code == 201
    limit = registry.client.app.state.settings.max_manifest_bytes
    padded = _with(oci.image_manifest(APP, [b"l"]), annotations={"pad": "x" * limit})
    too_big = oci.put_manifest(APP, "big", padded)
    assert too_big.status_code == 413 and error_code(too_big) == "SIZE_INVALID"
    just_fits = _with(oci.image_manifest(APP, [b"l"]), annotations={"pad": "x" * (limit - 1000)})
    assert oci.put_manifest(APP, "fits", just_fits).status_code == 201


def test_docker_schema2_manifest_and_manifest_list_keep_their_media_types(oci):
    config = config_blob("arm64")
    oci.push_blob(APP, config)
    oci.push_blob(APP, b"docker layer")
    manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": descriptor(config, DOCKER_CONFIG),
                "layers": [descriptor(b"docker layer", "application/vnd.docker.image.rootfs.diff.tar.gzip")]}
    body = json.dumps(manifest).encode()
    assert oci.put_manifest(APP, "docker", body, DOCKER_MANIFEST).status_code == 201
    listing = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
        {**descriptor(body, DOCKER_MANIFEST), "platform": {"architecture": "arm64", "os": "linux"}}]}
    assert oci.put_manifest(APP, "list", listing, DOCKER_LIST).status_code == 201
    for tag, media_type in (("docker", DOCKER_MANIFEST), ("list", DOCKER_LIST)):
        assert oci.call("GET", f"/v2/{APP}/manifests/{tag}").headers["content-type"] == media_type


def test_an_index_needs_its_child_manifests(oci):
    _amd, amd_body = oci.push_image(APP, "amd", [b"amd layer"], "amd64")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**descriptor(amd_body, OCI_MANIFEST), "platform": {"architecture": "amd64", "os": "linux"}},
        {**descriptor(b"arm manifest not pushed", OCI_MANIFEST), "platform": {"architecture": "arm64", "os": "linux"}}]}
    missing = oci.put_manifest(APP, "multi", index)
    assert missing.status_code == 400 and error_code(missing) == "MANIFEST_BLOB_UNKNOWN"
    _arm, arm_body = oci.push_image(APP, "arm", [b"arm layer"], "arm64")
    index["manifests"][1] = {**descriptor(arm_body, OCI_MANIFEST), "platform": {"architecture": "arm64", "os": "linux"}}
    assert oci.put_manifest(APP, "multi", index).status_code == 201
    nested = {"schemaVersion": 2, "mediaType": OCI_INDEX,
              "manifests": [descriptor(json.dumps(index).encode(), OCI_INDEX)]}
    assert oci.put_manifest(APP, "nested", nested).status_code == 201


def test_artifacts_with_artifact_type_and_a_dangling_subject(oci):
    empty = oci.push_blob(APP, b"{}")
    layer = oci.push_blob(APP, b"signature")
    artifact = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
                "layers": [{"mediaType": "application/octet-stream", "digest": layer, "size": 9}],
                "subject": {"mediaType": OCI_MANIFEST, "digest": sha256(b"absent"), "size": 6}}
    body = json.dumps(artifact).encode()
    response = oci.put_manifest(APP, sha256(body), body)
    assert response.status_code == 201 and response.headers["oci-subject"] == sha256(b"absent")


def test_retagging_moves_the_tag(oci):
    first, _ = oci.push_image(APP, "v1", [b"one"])
    second, second_body = oci.push_image(APP, "v2", [b"two"])
    assert oci.put_manifest(APP, "v1", second_body).status_code == 201
    assert oci.call("HEAD", f"/v2/{APP}/manifests/v1").headers["docker-content-digest"] == second
    assert oci.call("HEAD", f"/v2/{APP}/manifests/{first}").status_code == 200


def test_delete_by_digest_removes_the_manifest_and_its_tags(oci):
    digest, body = oci.push_image(APP, "v1", [b"one"])
    oci.put_manifest(APP, "also", body)
    oci.push_image(APP, "other", [b"two"])
    assert oci.call("DELETE", f"/v2/{APP}/manifests/{digest}").status_code == 202
    for reference in (digest, "v1", "also"):
        gone = oci.call("GET", f"/v2/{APP}/manifests/{reference}")
        assert gone.status_code == 404 and error_code(gone) == "MANIFEST_UNKNOWN"
    assert oci.call("GET", f"/v2/{APP}/tags/list").json()["tags"] == ["other"]
    again = oci.call("DELETE", f"/v2/{APP}/manifests/{digest}")
    assert again.status_code == 404 and error_code(again) == "MANIFEST_UNKNOWN"


def test_delete_by_tag_removes_only_the_tag(oci):
    digest, body = oci.push_image(APP, "v1", [b"one"])
    oci.put_manifest(APP, "v2", body)
    assert oci.call("DELETE", f"/v2/{APP}/manifests/v1").status_code == 202
    assert oci.call("GET", f"/v2/{APP}/manifests/v1").status_code == 404
    assert oci.call("GET", f"/v2/{APP}/manifests/v2").status_code == 200
    assert oci.call("GET", f"/v2/{APP}/manifests/{digest}").status_code == 200
    assert oci.call("DELETE", f"/v2/{APP}/manifests/nope").status_code == 404


def test_manifest_with_config_and_layer_of_one_digest(oci):
    data = config_blob()
    oci.push_blob(APP, data)
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(data, OCI_CONFIG),
                "layers": [descriptor(data, OCI_LAYER), descriptor(data, OCI_LAYER)]}
    assert oci.put_manifest(APP, "odd", document).status_code == 201
