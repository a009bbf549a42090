"""Writing what pull fetched: an OCI image layout directory, and a docker-archive tarball made from one.

Blobs arrive as `blobs/<algorithm>/<hex>.partial` and are renamed into place only once verified, so a blob file
under its digest is always complete and correct; a `.partial` is what a rerun continues. index.json and
oci-layout are written last, atomically.

The docker-archive holds both what `docker load` reads (`manifest.json`) and an OCI layout (`index.json`,
`oci-layout`, `blobs/`), as docker 25+ `save` writes it, so docker, podman and skopeo all load it. Its layers are
plain tars, as docker saves them (skopeo checks them against the config's diff_ids): gzip layers are unpacked
on the way, so the archive's manifest differs from the registry's while the image (its config) is the same.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path

from ..errors import IntegrityError, InvalidArgumentError
from .image_layout import CONTAINERD_NAME_ANNOTATION, blob_name
from .oci_media import (OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_LAYER_GZIP, OCI_MANIFEST, REF_NAME_ANNOTATION,
                        Descriptor, Manifest, digest_of, hex_of, layer_media_type)

OCI_LAYOUT_FILE = {"imageLayoutVersion": "1.0.0"}
PARTIAL_SUFFIX = ".partial"
TAR_READ_SIZE = 1024 * 1024


class LayoutWriter:
    """An OCI image layout directory being filled blob by blob."""

    def __init__(self, root: Path):
        self.root = root

    def blob_path(self, digest: str) -> Path:
        return self.root / blob_name(digest)

    def partial_path(self, digest: str) -> Path:
        path = self.blob_path(digest)
        return path.with_name(path.name + PARTIAL_SUFFIX)

    def has_blob(self, digest: str, size: int) -> bool:
        path = self.blob_path(digest)
        return path.is_file() and path.stat().st_size == size

    def prepare(self, digest: str) -> Path:
        """The `.partial` path of a blob, with its directory created."""
        path = self.partial_path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, digest: str) -> None:
        os.replace(self.partial_path(digest), self.blob_path(digest))

    def put_bytes(self, data: bytes, digest: str) -> None:
        """Store a small blob (a manifest) after checking it matches its digest."""
        if digest_of(data, digest.partition(":")[0]) != digest:
            raise IntegrityError(f"The manifest received does not match its digest {digest}.")
        write_atomically(self.prepare(digest), data)
        self.commit(digest)

    def write_index(self, descriptors: list[Descriptor]) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [d.to_json() for d in descriptors]}
        write_atomically(self.root / "oci-layout", json.dumps(OCI_LAYOUT_FILE).encode())
        write_atomically(self.root / "index.json", json.dumps(index, indent=2).encode())

    def partial_files(self) -> list[Path]:
        return sorted(self.root.glob(f"blobs/*/*{PARTIAL_SUFFIX}"))


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def docker_manifest_json(config: Descriptor, layers: list[Descriptor], repo_tags: list[str]) -> bytes:
    entry = {"Config": blob_name(config.digest), "RepoTags": repo_tags,
             "Layers": [blob_name(layer.digest) for layer in layers]}
    return json.dumps([entry], indent=2).encode()


def uncompressed_layer(layout: LayoutWriter, layer: Descriptor, workdir: Path) -> tuple[Path, Descriptor]:
    """The layer as a plain tar (docker-archives hold no compressed layers): gunzipped into `workdir` if need be."""
    path = layout.blob_path(layer.digest)
    with open(path, "rb") as stream:
        magic = stream.read(4)
    if layer_media_type(magic) == OCI_LAYER:
        return path, Descriptor(OCI_LAYER, layer.digest, layer.size)
    if layer_media_type(magic) != OCI_LAYER_GZIP:
        raise InvalidArgumentError(f"Layer {layer.digest} is zstd-compressed, which a docker-archive cannot hold "
                                   "here: pull with --format oci instead.")
    hasher, size = hashlib.sha256(), 0
    target = workdir / f"{hex_of(layer.digest)}.tar"
    with gzip.open(path, "rb") as source, open(target, "wb") as sink:
        while data := source.read(TAR_READ_SIZE):
            hasher.update(data)
            sink.write(data)
            size += len(data)
    return target, Descriptor(OCI_LAYER, f"sha256:{hasher.hexdigest()}", size)


def write_docker_archive(layout: LayoutWriter, manifest: Manifest, repo_tags: list[str], out: Path) -> None:
    """A docker-archive of one image whose blobs are in `layout`, with its layers uncompressed as docker saves
    them, plus an OCI manifest and index.json for those layers; written aside, then renamed."""
    if manifest.config is None:
        raise IntegrityError("A docker-archive needs an image manifest with a config.")
    config = Descriptor(OCI_CONFIG, manifest.config.digest, manifest.config.size)
    temporary = out.with_name(f".{out.name}{PARTIAL_SUFFIX}")
    with tempfile.TemporaryDirectory(prefix=".layers-", dir=out.parent) as workdir:
        layers = [uncompressed_layer(layout, layer, Path(workdir)) for layer in manifest.layers]
        oci_manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.to_json(),
                                   "layers": [layer.to_json() for _, layer in layers]}, separators=(",", ":")).encode()
        top = Descriptor(OCI_MANIFEST, digest_of(oci_manifest), len(oci_manifest),
                         annotations=archive_annotations(repo_tags))
        files = {config.digest: layout.blob_path(config.digest), **{layer.digest: path for path, layer in layers}}
        with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as archive:
            archive.copybufsize = TAR_READ_SIZE
            add_directory(archive, "blobs")
            add_directory(archive, "blobs/sha256")
            for digest, path in files.items():
                add_file(archive, blob_name(digest), path)
            add_bytes(archive, blob_name(top.digest), oci_manifest)
            add_bytes(archive, "oci-layout", json.dumps(OCI_LAYOUT_FILE).encode())
            add_bytes(archive, "index.json", json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                         "manifests": [top.to_json()]}).encode())
            add_bytes(archive, "manifest.json", docker_manifest_json(config, [layer for _, layer in layers],
                                                                     repo_tags))
    os.replace(temporary, out)


def archive_annotations(repo_tags: list[str]) -> dict | None:
    if not repo_tags:
        return None
    return {CONTAINERD_NAME_ANNOTATION: repo_tags[0], REF_NAME_ANNOTATION: repo_tags[0].rsplit(":", 1)[1]}


def _tar_info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime = size, kind, 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def add_directory(archive: tarfile.TarFile, name: str) -> None:
    archive.addfile(_tar_info(name, kind=tarfile.DIRTYPE))


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    archive.addfile(_tar_info(name, len(data)), io.BytesIO(data))


def add_file(archive: tarfile.TarFile, name: str, path: Path) -> None:
    with open(path, "rb", buffering=TAR_READ_SIZE) as stream:
        archive.addfile(_tar_info(name, path.stat().st_size), stream)
