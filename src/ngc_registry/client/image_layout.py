"""Images on disk as push reads them: OCI image layouts and docker-archives, as directories or uncompressed tars.

Nothing is unpacked and no blob is read whole: a blob is found as a `BlobLocation` (a file, or the byte range of
a tar member) that the uploader streams from. Only manifests, configs and `index.json` are read into memory.

- OCI layout: `oci-layout`, `index.json`, `blobs/<algorithm>/<hex>` (also what docker 25+ `save` writes).
- docker-archive (`docker save` before 25, `skopeo copy ... docker-archive:`): `manifest.json` listing each
  image's `Config` and `Layers` files; push builds an OCI manifest for the image it picks.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from pathlib import Path

from ..errors import InvalidArgumentError, NotFoundError
from .oci_media import (OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, REF_NAME_ANNOTATION, Descriptor, Manifest, digest_of,
                        layer_media_type, parse_manifest, platform_of)
from .oci_upload import BlobLocation

HASH_READ_SIZE = 1024 * 1024
MAX_METADATA_SIZE = 64 * 1024 * 1024
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"


class SourceFiles:
    """Named files of a directory or of an uncompressed tar."""

    def location(self, name: str) -> BlobLocation | None:
        raise NotImplementedError

    def read(self, name: str) -> bytes:
        location = self.location(name)
        if location is None:
            raise NotFoundError(f"'{name}' is missing from the image source.")
        if location.size > MAX_METADATA_SIZE:
            raise InvalidArgumentError(f"'{name}' in the image source is too large to be image metadata.")
        with open(location.path, "rb") as stream:
            stream.seek(location.offset)
            return stream.read(location.size)

    def exists(self, name: str) -> bool:
        return self.location(name) is not None


class DirectoryFiles(SourceFiles):
    def __init__(self, root: Path):
        self.root = root

    def location(self, name: str) -> BlobLocation | None:
        path = self.root / _clean(name)
        return BlobLocation(path, 0, path.stat().st_size) if path.is_file() else None


class TarFiles(SourceFiles):
    """Members of an uncompressed tar, found by name, with symlinks and hard links followed."""

    def __init__(self, path: Path):
        self.path = path
        try:
            with tarfile.open(path, "r:") as archive:
                self._members = {_clean(member.name): member for member in archive.getmembers()}
        except tarfile.ReadError as err:
            raise InvalidArgumentError(f"'{path}' is not an uncompressed tar archive ({err}); a compressed archive "
                                       "must be decompressed first.") from None

    def location(self, name: str) -> BlobLocation | None:
        member = self._resolve(_clean(name))
        return BlobLocation(self.path, member.offset_data, member.size) if member else None

    def _resolve(self, name: str, depth: int = 0) -> tarfile.TarInfo | None:
        member = self._members.get(name)
        if member is None or depth > 16:
            return None
        if member.issym():
            return self._resolve(_clean(posixpath.join(posixpath.dirname(name), member.linkname)), depth + 1)
        if member.islnk():
            return self._resolve(_clean(member.linkname), depth + 1)
        return member if member.isfile() else None


def _clean(name: str) -> str:
    return posixpath.normpath(name.lstrip("/")).removeprefix("./")


def blob_name(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(":")
    return f"blobs/{algorithm}/{hex_part}"


# -- sources ----------------------------------------------------------------------------------------------------


class ImageSource:
    """One image (or index) to push: `top` is its descriptor; manifests and blobs come from `files`."""

    kind = "oci"

    def __init__(self, files: SourceFiles, path: Path):
        self.files = files
        self.path = path
        self._generated: dict[str, bytes] = {}

    def select(self, wanted: str | None = None) -> Descriptor:
        raise NotImplementedError

    def read_manifest(self, descriptor: Descriptor) -> Manifest:
        data = self._generated.get(descriptor.digest)
        if data is None:
            data = self.files.read(blob_name(descriptor.digest))
        if digest_of(data, descriptor.digest.partition(":")[0]) != descriptor.digest:
            raise InvalidArgumentError(f"The manifest {descriptor.digest} in '{self.path}' does not match its digest.")
        return parse_manifest(data, descriptor.media_type)

    def has_manifest(self, descriptor: Descriptor) -> bool:
        return descriptor.digest in self._generated or self.files.exists(blob_name(descriptor.digest))

    def location(self, digest: str) -> BlobLocation | None:
        return self.files.location(blob_name(digest))

    def _generate(self, data: bytes, media_type: str, annotations: dict | None = None) -> Descriptor:
        digest = digest_of(data)
        self._generated[digest] = data
        return Descriptor(media_type, digest, len(data), annotations=annotations)


class OciLayoutSource(ImageSource):
    kind = "oci"

    def select(self, wanted: str | None = None) -> Descriptor:
        """The entry of index.json named `wanted`, the only one, or index.json itself when all are platforms."""
        index_data = self.files.read("index.json")
        index = parse_manifest(index_data, OCI_INDEX)
        entries = list(index.children)
        if wanted:
            named = [entry for entry in entries if wanted in entry_names(entry)]
            if named:
                return named[0]
        if len(entries) == 1:
            return entries[0]
        if entries and all(platform_of(entry) for entry in entries):
            return self._generate(index_data, OCI_INDEX)
        names = sorted({name for entry in entries for name in entry_names(entry)})
        if not entries:
            raise InvalidArgumentError(f"The image layout '{self.path}' holds no image (its index.json is empty).")
        raise InvalidArgumentError(f"The image layout '{self.path}' holds {len(entries)} images"
                                   f"{' (' + ', '.join(names) + ')' if names else ''}: choose one with --source-ref.")


def entry_names(descriptor: Descriptor) -> set[str]:
    """The names an index.json entry goes by: its ref name, and the image name docker/containerd gave it."""
    annotations = descriptor.annotations or {}
    names = {annotations.get(REF_NAME_ANNOTATION), annotations.get(CONTAINERD_NAME_ANNOTATION)}
    image = annotations.get(CONTAINERD_NAME_ANNOTATION) or ""
    if ":" in image.rsplit("/", 1)[-1]:
        names.add(image.rsplit(":", 1)[1])
    return {name for name in names if name}


class DockerArchiveSource(ImageSource):
    """A docker-archive: the image is described by `manifest.json`; push sends it as an OCI manifest."""

    kind = "docker-archive"

    def __init__(self, files: SourceFiles, path: Path):
        super().__init__(files, path)
        self._locations: dict[str, BlobLocation] = {}

    def select(self, wanted: str | None = None) -> Descriptor:
        entry = self._entry(wanted)
        config_data = self.files.read(str(entry.get("Config")))
        config = Descriptor(OCI_CONFIG, digest_of(config_data), len(config_data))
        self._locations[config.digest] = self.files.location(str(entry.get("Config")))
        layers = [self._layer_descriptor(name) for name in entry.get("Layers") or []]
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.to_json(),
                    "layers": [layer.to_json() for layer in layers]}
        data = json.dumps(manifest, separators=(",", ":")).encode()
        return self._generate(data, OCI_MANIFEST)

    def location(self, digest: str) -> BlobLocation | None:
        return self._locations.get(digest) or self.files.location(blob_name(digest))

    def _entry(self, wanted: str | None) -> dict:
        try:
            entries = json.loads(self.files.read("manifest.json"))
        except ValueError:
            raise InvalidArgumentError(f"The manifest.json of '{self.path}' is not valid JSON.") from None
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise InvalidArgumentError(f"The manifest.json of '{self.path}' lists no image.")
        if wanted:
            for entry in entries:
                if any(tag == wanted or tag.rsplit(":", 1)[-1] == wanted for tag in entry.get("RepoTags") or []):
                    return entry
        if len(entries) == 1:
            return entries[0]
        tags = [tag for entry in entries for tag in entry.get("RepoTags") or []]
        raise InvalidArgumentError(f"'{self.path}' holds {len(entries)} images ({', '.join(tags) or 'untagged'}): "
                                   "choose one with --source-ref.")

    def _layer_descriptor(self, name: str) -> Descriptor:
        location = self.files.location(name)
        if location is None:
            raise NotFoundError(f"The layer '{name}' is missing from '{self.path}'.")
        digest, first_bytes = hash_location(location)
        self._locations[digest] = location
        return Descriptor(layer_media_type(first_bytes), digest, location.size)


def hash_location(location: BlobLocation) -> tuple[str, bytes]:
    """(sha256 digest, first bytes) of a blob, read a megabyte at a time."""
    hasher = hashlib.sha256()
    first = b""
    with open(location.path, "rb") as stream:
        stream.seek(location.offset)
        remaining = location.size
        while remaining > 0:
            data = stream.read(min(HASH_READ_SIZE, remaining))
            if not data:
                raise InvalidArgumentError(f"'{location.path}' ends inside a layer (truncated archive?).")
            first = first or data[:8]
            hasher.update(data)
            remaining -= len(data)
    return f"sha256:{hasher.hexdigest()}", first


def open_source(path: Path) -> ImageSource:
    """The image source at `path`: an OCI layout or docker-archive, as a directory or an uncompressed tar."""
    if not path.exists():
        raise InvalidArgumentError(f"The source '{path}' does not exist.")
    files: SourceFiles = DirectoryFiles(path) if path.is_dir() else TarFiles(path)
    if files.exists("index.json"):
        return OciLayoutSource(files, path)
    if files.exists("manifest.json"):
        return DockerArchiveSource(files, path)
    raise InvalidArgumentError(f"'{path}' is neither an OCI image layout nor a docker-archive "
                               "(it has no index.json or manifest.json).")

