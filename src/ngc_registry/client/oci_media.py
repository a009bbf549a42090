"""OCI and Docker media types, descriptors, digests, and picking one platform out of an index.

Manifests are kept as the exact bytes they came in (their digest is over those bytes); `parse_manifest` only reads
them to find what they reference.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentError, NotFoundError

from ..mediatypes import (DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, INDEX_TYPES,  # noqa: F401
                          OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST)
from ..mediatypes import IMAGE_MANIFEST_TYPES as MANIFEST_TYPES

ACCEPT_MANIFESTS = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST])
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
SOURCE_REPOSITORY_ANNOTATION = "io.ngc-registry.repository"
UNKNOWN_PLATFORM = "unknown"
DEFAULT_ARM_VARIANTS = {"arm64": "v8", "arm": "v7"}


def new_hasher(digest: str):
    """A hashlib object for the digest's algorithm (sha256 or sha512)."""
    algorithm = digest.partition(":")[0]
    if algorithm not in ("sha256", "sha512"):
        raise InvalidArgumentError(f"Unsupported digest algorithm in '{digest}'.")
    return hashlib.new(algorithm)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def hex_of(digest: str) -> str:
    return digest.partition(":")[2]


def short_digest(digest: str) -> str:
    return hex_of(digest)[:12]


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict | None = None
    annotations: dict | None = None

    @classmethod
    def from_json(cls, data: dict) -> Descriptor:
        try:
            return cls(data.get("mediaType") or "", data["digest"], int(data["size"]), data.get("platform"),
                       data.get("annotations"))
        except (KeyError, TypeError, ValueError):
            raise InvalidArgumentError(f"Invalid descriptor in manifest: {json.dumps(data)[:200]}") from None

    def to_json(self) -> dict:
        data: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            data["platform"] = self.platform
        if self.annotations:
            data["annotations"] = self.annotations
        return data

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as bytes, with what it references."""

    data: bytes
    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    children: tuple[Descriptor, ...]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def digest(self) -> str:
        return digest_of(self.data)

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        return ((self.config,) if self.config else ()) + self.layers


def parse_manifest(data: bytes, media_type: str | None = None) -> Manifest:
    try:
        body = json.loads(data)
    except ValueError:
        raise InvalidArgumentError("The manifest is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidArgumentError("The manifest is not a JSON object.")
    kind = body.get("mediaType") or media_type or (OCI_INDEX if "manifests" in body else OCI_MANIFEST)
    if kind in INDEX_TYPES or "manifests" in body:
        children = tuple(Descriptor.from_json(item) for item in body.get("manifests") or [])
        return Manifest(data, kind, None, (), children)
    config = Descriptor.from_json(body["config"]) if isinstance(body.get("config"), dict) else None
    layers = tuple(Descriptor.from_json(item) for item in body.get("layers") or [])
    return Manifest(data, kind, config, layers, ())


def layer_media_type(first_bytes: bytes) -> str:
    """The OCI layer type of a tar stream from its magic bytes: gzip, zstd, or plain tar."""
    if first_bytes.startswith(b"\x1f\x8b"):
        return OCI_LAYER_GZIP
    if first_bytes.startswith(b"\x28\xb5\x2f\xfd"):
        return OCI_LAYER_ZSTD
    return OCI_LAYER


# -- platforms ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


def parse_platform(text: str) -> Platform:
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidArgumentError(f"Invalid platform '{text}': expected <os>/<arch>[/<variant>], e.g. linux/amd64.")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def platform_of(descriptor: Descriptor) -> Platform | None:
    platform = descriptor.platform or {}
    if not platform.get("os") or not platform.get("architecture"):
        return None
    return Platform(platform["os"], platform["architecture"], platform.get("variant") or None)


def _variant(platform: Platform) -> str | None:
    return platform.variant or DEFAULT_ARM_VARIANTS.get(platform.architecture)


def platform_matches(wanted: Platform, offered: Platform) -> bool:
    """os and architecture equal; the variant too when either names one (arm64 means v8, arm means v7)."""
    if (wanted.os, wanted.architecture) != (offered.os, offered.architecture):
        return False
    return not (wanted.variant or offered.variant) or _variant(wanted) == _variant(offered)


def image_entries(index: Manifest) -> list[Descriptor]:
    """The runnable images of an index: attestations and other `unknown/unknown` entries left out."""
    return [child for child in index.children if (platform_of(child) or Platform("", "")).os != UNKNOWN_PLATFORM]


def select_platform(index: Manifest, wanted: Platform | None, default: Platform | None = None) -> Descriptor:
    """One manifest of an index: the wanted platform, else the default one, else the only image there is."""
    entries = image_entries(index)
    for candidate in (wanted, default if wanted is None else None):
        if candidate is None:
            continue
        for entry in entries:
            platform = platform_of(entry)
            if platform and platform_matches(candidate, platform):
                return entry
        if candidate is wanted:
            raise NotFoundError(f"No image for platform {wanted}; available: {available_platforms(entries)}.")
    if len(entries) == 1:
        return entries[0]
    raise InvalidArgumentError(f"The image has several platforms ({available_platforms(entries)}): "
                               "choose one with --platform.")


def available_platforms(entries: list[Descriptor]) -> str:
    names = [str(platform_of(entry) or "unspecified") for entry in entries]
    return ", ".join(names) or "none"
