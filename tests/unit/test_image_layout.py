"""Reading image sources (OCI layout dir/tar, docker-archive with links) and writing layouts and docker-archives."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from ngc_registry.client.image_layout import (DockerArchiveSource, OciLayoutSource, TarFiles, blob_name,
                                              open_source)
from ngc_registry.client.oci_layout_writer import LayoutWriter, write_docker_archive
from ngc_registry.client.oci_media import OCI_INDEX, OCI_LAYER, OCI_LAYER_GZIP, OCI_MANIFEST
from ngc_registry.errors import IntegrityError, InvalidArgumentError

from .test_oci_fake_registry import layer_tar, make_layout, sha256


def read_location(location) -> bytes:
    with open(location.path, "rb") as stream:
        stream.seek(location.offset)
        return stream.read(location.size)


def tar_directory(root, out, links: dict[str, str] | None = None):
    """Pack `root` into an uncompressed tar; `links` adds symlinks name → target."""
    with tarfile.open(out, "w") as archive:
        for path in sorted(root.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(root)), recursive=False)
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return out


def test_layout_directory_gives_the_single_image_and_its_blobs(tmp_path):
    digest = make_layout(tmp_path / "layout")
    source = open_source(tmp_path / "layout")
    assert isinstance(source, OciLayoutSource)
    top = source.select()
    manifest = source.read_manifest(top)
    assert top.digest == digest and len(manifest.layers) == 2
    layer = manifest.layers[1]
    assert sha256(read_location(source.location(layer.digest))) == layer.digest


def test_oci_archive_blobs_are_byte_ranges_of_the_tar(tmp_path):
    make_layout(tmp_path / "layout")
    source = open_source(tar_directory(tmp_path / "layout", tmp_path / "image.tar"))
    manifest = source.read_manifest(source.select())
    for blob in manifest.blobs:
        location = source.location(blob.digest)
        assert location.path == tmp_path / "image.tar" and location.offset > 0
        assert sha256(read_location(location)) == blob.digest


def test_several_images_are_chosen_by_ref_name(tmp_path):
    root = tmp_path / "layout"
    make_layout(root, ref_name="a")
    first = json.loads((root / "index.json").read_text())["manifests"][0]
    make_layout(root, layers=[layer_tar({"other": b"x"})], ref_name="b")
    index = json.loads((root / "index.json").read_text())
    index["manifests"].insert(0, first)
    (root / "index.json").write_text(json.dumps(index))
    assert open_source(root).select("a").digest == first["digest"]
    with pytest.raises(InvalidArgumentError, match=r"holds 2 images \(a, b\).*--source-ref"):
        open_source(root).select("c")


def test_platform_manifests_listed_directly_in_index_json_are_pushed_as_an_index(tmp_path):
    root = tmp_path / "layout"
    make_layout(root, platforms=("amd64", "arm64"))
    index_blob = json.loads((root / "index.json").read_text())["manifests"][0]
    nested = json.loads((root / blob_name(index_blob["digest"])).read_text())
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": nested["manifests"]}))
    source = open_source(root)
    top = source.select()
    assert top.media_type == OCI_INDEX and len(source.read_manifest(top).children) == 2


def test_tampered_manifest_is_refused(tmp_path):
    root = tmp_path / "layout"
    digest = make_layout(root)
    (root / blob_name(digest)).write_text('{"schemaVersion": 2, "layers": []}')
    source = open_source(root)
    with pytest.raises(InvalidArgumentError, match="does not match its digest"):
        source.read_manifest(source.select())


def legacy_docker_archive(tmp_path, compress=False):
    """`docker save` before 25: <id>/layer.tar files, a second image's layer a symlink to the first's."""
    layer = layer_tar({"etc/hello": b"hello"}, compress=compress)
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    entries = [{"Config": "cfg.json", "RepoTags": ["org/img:1.0"], "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}]
    out = tmp_path / "docker.tar"
    with tarfile.open(out, "w") as archive:
        for name, data in (("aaa/layer.tar", layer), ("cfg.json", config),
                           ("manifest.json", json.dumps(entries).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("bbb/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../aaa/layer.tar"
        archive.addfile(link)
    return out, layer, config


@pytest.mark.parametrize("compress, media_type", [(False, OCI_LAYER), (True, OCI_LAYER_GZIP)])
def test_docker_archive_becomes_an_oci_manifest(tmp_path, compress, media_type):
    path, layer, config = legacy_docker_archive(tmp_path, compress)
    source = open_source(path)
    assert isinstance(source, DockerArchiveSource)
    top = source.select("1.0")
    manifest = source.read_manifest(top)
    assert top.media_type == OCI_MANIFEST and manifest.config.digest == sha256(config)
    assert [layer_.digest for layer_ in manifest.layers] == [sha256(layer)] * 2
    assert manifest.layers[0].media_type == media_type
    assert read_location(source.location(sha256(layer))) == layer
    assert read_location(source.location(sha256(config))) == config


def test_compressed_archive_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "image.tar.gz"
    path.write_bytes(layer_tar({"index.json": b"{}"}, compress=True))
    with pytest.raises(InvalidArgumentError, match="decompressed first"):
        TarFiles(path)


def test_a_directory_that_is_no_image_is_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="neither an OCI image layout nor a docker-archive"):
        open_source(tmp_path)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        open_source(tmp_path / "missing")


# -- writing ----------------------------------------------------------------------------------------------------


def test_layout_writer_puts_verified_manifests_and_the_index(tmp_path):
    writer = LayoutWriter(tmp_path / "out")
    data = b'{"schemaVersion":2}'
    writer.put_bytes(data, sha256(data))
    assert writer.has_blob(sha256(data), len(data)) and not writer.partial_files()
    with pytest.raises(IntegrityError):
        writer.put_bytes(b"other", sha256(data))
    writer.write_index([])
    assert json.loads((tmp_path / "out" / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}


def test_docker_archive_holds_plain_layers_and_reads_back_as_both_formats(tmp_path):
    root = tmp_path / "layout"
    plain, zipped = layer_tar({"a": b"plain"}, compress=False), layer_tar({"b": b"zipped"})
    make_layout(root, layers=[plain, zipped])
    source = open_source(root)
    manifest = source.read_manifest(source.select())
    out = tmp_path / "img_1.0.tar"
    write_docker_archive(LayoutWriter(root), manifest, ["host:5000/org/img:1.0"], out)
    diff_ids = [sha256(plain), sha256(gzip.decompress(zipped))]
    with tarfile.open(out) as archive:
        entries = json.load(archive.extractfile("manifest.json"))
        assert archive.extractfile(blob_name(diff_ids[1])).read() == gzip.decompress(zipped)
    assert entries == [{"Config": blob_name(manifest.config.digest), "RepoTags": ["host:5000/org/img:1.0"],
                        "Layers": [blob_name(digest) for digest in diff_ids]}]
    as_oci = open_source(out)
    oci_manifest = as_oci.read_manifest(as_oci.select("1.0"))
    assert [layer.digest for layer in oci_manifest.layers] == diff_ids
    assert {layer.media_type for layer in oci_manifest.layers} == {OCI_LAYER}
    legacy = DockerArchiveSource(as_oci.files, out)
    assert legacy.read_manifest(legacy.select()).data == oci_manifest.data
    assert not list(tmp_path.glob(".*"))
