"""Image references, media helpers and platform selection: pure functions, no registry."""

from __future__ import annotations

import json

import pytest

from ngc_registry.client.oci_media import (OCI_INDEX, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST,
                                           Platform, layer_media_type, parse_manifest, parse_platform,
                                           platform_matches, select_platform)
from ngc_registry.client.oci_reference import (ImageRef, layout_dir_name, parse_image_ref, split_list_pattern,
                                               validate_digest)
from ngc_registry.errors import InvalidArgumentError, InvalidNameError, NotFoundError

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, expected", [
    ("nvidia/caffe", ImageRef("nvidia", None, "caffe", "latest")),
    ("nvidia/caffe:19.02-py2", ImageRef("nvidia", None, "caffe", "19.02-py2")),
    ("org/team_a/img:v1", ImageRef("org", "team-a", "img", "v1")),
    (f"org/img@{DIGEST}", ImageRef("org", None, "img", None, DIGEST)),
    (f"org/t/img:v1@{DIGEST}", ImageRef("org", "t", "img", "v1", DIGEST)),
    ("nvcr.io/nvidia/caffe:1", ImageRef("nvidia", None, "caffe", "1")),
    ("localhost:8000/org/team/img:2", ImageRef("org", "team", "img", "2")),
])
def test_parse_image_ref(text, expected):
    assert parse_image_ref(text) == expected


def test_reference_repository_and_text():
    ref = parse_image_ref("org/t/img")
    assert (ref.repository, ref.reference, str(ref)) == ("org/t/img", "latest", "org/t/img:latest")
    by_digest = parse_image_ref(f"org/img@{DIGEST}")
    assert by_digest.reference == DIGEST and str(by_digest) == f"org/img@{DIGEST}"
    assert parse_image_ref("org/img", default_tag=None).tag is None


@pytest.mark.parametrize("text", ["img", "a/b/c/d", "org//img", "Org/img", "org/img:-bad", "org/img@sha256:12",
                                  "org/img@md5:" + "a" * 32, "org/img:" + "x" * 129])
def test_invalid_references_are_refused(text):
    with pytest.raises(InvalidNameError):
        parse_image_ref(text)


def test_reference_not_allowed():
    with pytest.raises(InvalidNameError, match="not allowed"):
        parse_image_ref("org/img:1", reference_allowed=False)


def test_validate_digest_accepts_sha512():
    assert validate_digest("sha512:" + "0" * 128).startswith("sha512:")


def test_split_list_pattern():
    assert split_list_pattern("org/img:*") == ("org/img", "*")
    assert split_list_pattern("org/img:1.*") == ("org/img", "1.*")
    assert split_list_pattern("org/img*") == ("org/img*", None)
    assert split_list_pattern("org/img:") == ("org/img", "*")


def test_layout_dir_name():
    assert layout_dir_name(parse_image_ref("org/t/img:2.0")) == "img_2.0"
    assert layout_dir_name(parse_image_ref(f"org/img@{DIGEST}")) == "img_sha256-abababababab"


# -- media ------------------------------------------------------------------------------------------------------


def test_layer_media_type_from_magic_bytes():
    assert layer_media_type(b"\x1f\x8b\x08\x00") == OCI_LAYER_GZIP
    assert layer_media_type(b"\x28\xb5\x2f\xfd") == OCI_LAYER_ZSTD
    assert layer_media_type(b"hello.tx") == OCI_LAYER


def test_parse_manifest_and_index():
    manifest = parse_manifest(json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "c", "digest": DIGEST, "size": 2},
        "layers": [{"mediaType": "l", "digest": DIGEST, "size": 3}]}).encode())
    assert not manifest.is_index and [b.size for b in manifest.blobs] == [2, 3]
    index = parse_manifest(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": DIGEST, "size": 9}]}).encode())
    assert index.is_index and index.media_type == OCI_INDEX and index.children[0].size == 9


def test_invalid_manifest_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        parse_manifest(b"nope")


def index_of(*platforms: dict):
    children = [{"mediaType": OCI_MANIFEST, "digest": "sha256:" + f"{n:064x}", "size": 1, "platform": p}
                for n, p in enumerate(platforms)]
    return parse_manifest(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode())


AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}
ATTESTATION = {"os": "unknown", "architecture": "unknown"}


def test_parse_platform():
    assert parse_platform("linux/arm/v7") == Platform("linux", "arm", "v7")
    with pytest.raises(InvalidArgumentError):
        parse_platform("linux")


def test_platform_matching_with_default_arm_variants():
    assert platform_matches(Platform("linux", "arm64"), Platform("linux", "arm64", "v8"))
    assert platform_matches(Platform("linux", "arm64", "v8"), Platform("linux", "arm64"))
    assert not platform_matches(Platform("linux", "arm", "v6"), Platform("linux", "arm"))
    assert not platform_matches(Platform("linux", "amd64"), Platform("windows", "amd64"))


def test_select_platform_wanted_default_and_only():
    index = index_of(AMD64, ARM64, ATTESTATION)
    assert select_platform(index, Platform("linux", "arm64")).platform == ARM64
    assert select_platform(index, None, Platform("linux", "amd64")).platform == AMD64
    assert select_platform(index_of(ARM64, ATTESTATION), None, Platform("linux", "amd64")).platform == ARM64


def test_select_platform_errors_name_the_platforms():
    with pytest.raises(NotFoundError, match="linux/amd64, linux/arm64/v8"):
        select_platform(index_of(AMD64, ARM64), Platform("linux", "s390x"))
    with pytest.raises(InvalidArgumentError, match="--platform"):
        select_platform(index_of(ARM64, {"os": "linux", "architecture": "ppc64le"}), None,
                        Platform("linux", "amd64"))
