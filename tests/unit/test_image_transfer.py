"""Push and pull engines against the in-memory registry: round trips, skips, chunking, indexes, resume."""

from __future__ import annotations

import json
import os

import pytest

from ngc_registry.client.image_layout import blob_name, open_source
from ngc_registry.client.oci_layout_writer import LayoutWriter
from ngc_registry.client.oci_media import OCI_INDEX, Platform
from ngc_registry.client.oci_pull import ImagePull
from ngc_registry.client.oci_push import ImagePush
from ngc_registry.client.oci_reference import parse_image_ref
from ngc_registry.client.oci_transfer import EXISTS, FAILED, MOUNTED, TRANSFERRED, ImageTransferResult
from ngc_registry.errors import (EXIT_INCOMPLETE, EXIT_OK, EXIT_TRANSFER_FAILED, ForbiddenError, InvalidArgumentError,
                                 NotFoundError)

from .test_oci_fake_registry import FakeRegistry, layer_tar, make_layout, sha256


def push(registry, source_dir, image="org/team/img:1.0", chunk_size=1 << 20, platform=None, source_ref=None):
    ref = parse_image_ref(image)
    with registry.client() as client:
        pusher = ImagePush(client, open_source(source_dir), ref, workers=3, chunk_size=chunk_size)
        plan = pusher.plan(source_ref, platform)
        result = ImageTransferResult("Push", str(ref))
        missing = pusher.check_existing(plan, result)
        return pusher.run(plan, missing, result)


def pull(registry, dest, image="org/team/img:1.0", platform=None, keep_index=True):
    ref = parse_image_ref(image)
    with registry.client() as client:
        puller = ImagePull(client, ref, LayoutWriter(dest), workers=3)
        plan = puller.plan(platform, keep_index)
        return puller.run(plan), plan


def test_push_then_pull_gives_identical_digests(tmp_path):
    registry = FakeRegistry()
    digest = make_layout(tmp_path / "src")
    pushed = push(registry, tmp_path / "src")
    assert pushed.exit_code == EXIT_OK and pushed.digest == digest and pushed.count(TRANSFERRED) == 3
    assert registry.tags["org/team/img"]["1.0"] == digest
    pulled, _ = pull(registry, tmp_path / "out")
    assert pulled.exit_code == EXIT_OK and pulled.digest == digest
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    entry = index["manifests"][0]
    assert entry["digest"] == digest and entry["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    for path in (tmp_path / "src" / "blobs" / "sha256").iterdir():
        assert (tmp_path / "out" / "blobs" / "sha256" / path.name).read_bytes() == path.read_bytes()


def test_second_push_skips_every_layer_the_registry_has(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src")
    push(registry, tmp_path / "src")
    again = push(registry, tmp_path / "src", image="org/team/img:2.0")
    assert again.count(EXISTS) == 3 and again.count(TRANSFERRED) == 0 and again.bytes_transferred == 0
    assert registry.tags["org/team/img"]["2.0"] == registry.tags["org/team/img"]["1.0"]


def test_big_layers_are_sent_in_chunks(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src", layers=[os.urandom(5000)])
    result = push(registry, tmp_path / "src", chunk_size=1024)
    assert result.exit_code == EXIT_OK and result.bytes_transferred == sum(o.size for o in result.outcomes.values())
    assert [method for method, _ in registry.requests].count("PATCH") == 5


def test_pull_after_pull_mounts_from_the_source_repository(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src")
    push(registry, tmp_path / "src", image="org/base:1.0")
    pull(registry, tmp_path / "pulled", image="org/base:1.0")
    result = push(registry, tmp_path / "pulled", image="org/copy:1.0")
    assert result.count(MOUNTED) == 3 and result.bytes_transferred == 0


def test_multi_platform_index_round_trip_and_platform_pick(tmp_path):
    registry = FakeRegistry()
    index_digest = make_layout(tmp_path / "src", platforms=("amd64", "arm64"))
    pushed = push(registry, tmp_path / "src")
    assert pushed.digest == index_digest and pushed.manifests == 3
    whole, plan = pull(registry, tmp_path / "all")
    assert whole.digest == index_digest and plan.top.media_type == OCI_INDEX and len(plan.manifests) == 3
    one, plan = pull(registry, tmp_path / "arm", platform=Platform("linux", "arm64"))
    assert plan.top.platform["architecture"] == "arm64" and len(plan.manifests) == 1
    default, plan = pull(registry, tmp_path / "archive", keep_index=False)
    assert plan.top.platform["architecture"] == "amd64"


def test_push_of_one_platform_from_an_index(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src", platforms=("amd64", "arm64"))
    result = push(registry, tmp_path / "src", platform=Platform("linux", "arm64"))
    stored, media_type = registry.manifests["org/team/img"][result.digest]
    assert result.manifests == 1 and json.loads(stored)["config"] and "index" not in media_type


def test_index_whose_platform_manifest_is_missing_asks_for_a_platform(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src", platforms=("amd64", "arm64"))
    index = json.loads((tmp_path / "src" / "index.json").read_text())["manifests"][0]
    child = json.loads((tmp_path / "src" / blob_name(index["digest"])).read_text())["manifests"][1]
    (tmp_path / "src" / blob_name(child["digest"])).unlink()
    with pytest.raises(InvalidArgumentError, match="platform linux/arm64.*--platform"):
        push(registry, tmp_path / "src")


def test_missing_blob_fails_the_push_without_a_manifest(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src", layers=[b"first layer", b"second layer"])
    (tmp_path / "src" / blob_name(sha256(b"second layer"))).unlink()
    result = push(registry, tmp_path / "src")
    assert result.count(FAILED) == 1 and result.exit_code == EXIT_INCOMPLETE and "img" not in str(registry.tags)


def test_pull_resumes_a_partial_blob_with_range(tmp_path):
    registry = FakeRegistry()
    big = os.urandom(10000)
    make_layout(tmp_path / "src", layers=[big])
    push(registry, tmp_path / "src")
    writer = LayoutWriter(tmp_path / "out")
    writer.prepare(sha256(big)).write_bytes(big[:4000])
    registry.requests.clear()
    result, _ = pull(registry, tmp_path / "out")
    assert result.exit_code == EXIT_OK and result.bytes_transferred < len(big) + 1000
    assert writer.blob_path(sha256(big)).read_bytes() == big and not writer.partial_files()


def test_pull_restarts_when_the_server_ignores_range(tmp_path):
    registry = FakeRegistry(honor_range=False)
    big = os.urandom(3000)
    make_layout(tmp_path / "src", layers=[big])
    push(registry, tmp_path / "src")
    writer = LayoutWriter(tmp_path / "out")
    writer.prepare(sha256(big)).write_bytes(big[:1000])
    result, _ = pull(registry, tmp_path / "out")
    assert result.exit_code == EXIT_OK and writer.blob_path(sha256(big)).read_bytes() == big


def test_corrupt_partial_of_full_length_is_dropped_and_fetched_again(tmp_path):
    registry = FakeRegistry()
    big = os.urandom(3000)
    make_layout(tmp_path / "src", layers=[big])
    push(registry, tmp_path / "src")
    writer = LayoutWriter(tmp_path / "out")
    writer.prepare(sha256(big)).write_bytes(b"x" * 3000)
    result, _ = pull(registry, tmp_path / "out")
    assert result.exit_code == EXIT_OK and writer.blob_path(sha256(big)).read_bytes() == big


def test_complete_blobs_are_skipped_on_a_rerun(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src")
    push(registry, tmp_path / "src")
    pull(registry, tmp_path / "out")
    again, _ = pull(registry, tmp_path / "out")
    assert again.count(EXISTS) == 3 and again.bytes_transferred == 0


def test_blob_with_wrong_content_fails_and_leaves_no_file(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src", layers=[layer_tar({"f": b"good"})])
    push(registry, tmp_path / "src")
    layer = sha256(layer_tar({"f": b"good"}))
    registry.blobs["org/team/img"][layer] = b"evil bytes"
    result, _ = pull(registry, tmp_path / "out")
    assert result.exit_code == EXIT_TRANSFER_FAILED or result.exit_code == EXIT_INCOMPLETE
    assert "digest" in result.failures[layer]
    writer = LayoutWriter(tmp_path / "out")
    assert not writer.blob_path(layer).exists() and not (tmp_path / "out" / "index.json").exists()


def test_refused_push_stops_with_one_error_naming_the_repository(tmp_path):
    registry = FakeRegistry(readonly_repos=("org/team/img",))
    make_layout(tmp_path / "src")
    with pytest.raises(ForbiddenError, match="push to 'org/team/img'"):
        push(registry, tmp_path / "src")
    assert "org/team/img" not in registry.blobs


def test_platform_asked_of_a_single_platform_image_must_match(tmp_path):
    registry = FakeRegistry()
    make_layout(tmp_path / "src")
    push(registry, tmp_path / "src")
    with pytest.raises(NotFoundError, match="is for linux/amd64 only, not linux/arm64"):
        pull(registry, tmp_path / "out", platform=Platform("linux", "arm64"))
    result, _ = pull(registry, tmp_path / "out", platform=Platform("linux", "amd64"))
    assert result.exit_code == EXIT_OK
