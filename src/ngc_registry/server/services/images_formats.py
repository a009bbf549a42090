"""The manifest formats the registry accepts, parsed and checked for shape (no database, no store).

OCI image manifest and index (image-spec v1.1, with `artifactType` and `subject`), Docker schema 2 manifest and
manifest list. Docker schema 1 is refused: no current client needs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ...errors import ManifestInvalidError
from .images_blobs import parse_digest

from ...mediatypes import CONFIG_TYPES, DOCKER_MANIFEST, INDEX_TYPES, OCI_INDEX, OCI_MANIFEST  # noqa: F401
from ...mediatypes import DOCKER_MANIFEST_LIST as DOCKER_LIST  # noqa: F401
from ...mediatypes import IMAGE_MANIFEST_TYPES as IMAGE_TYPES

MANIFEST_TYPES = IMAGE_TYPES | INDEX_TYPES


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict | None = None
    external: bool = False  # has `urls`: a non-distributable layer the registry need not hold


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor | None = None
    layers: list[Descriptor] = field(default_factory=list)
    children: list[Descriptor] = field(default_factory=list)
    subject: str | None = None
    declared_artifact_type: str | None = None
    annotations: dict | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def required_blobs(self) -> list[Descriptor]:
        """The blobs that must be in the repository: the config and every layer not served from elsewhere."""
        blobs = [self.config] if self.config else []
        return blobs + [layer for layer in self.layers if not layer.external]

    @property
    def artifact_type(self) -> str | None:
        """As the referrers API reports it: declared, else (for an image manifest) the config's media type."""
        if self.declared_artifact_type or self.is_index:
            return self.declared_artifact_type
        return self.config.media_type if self.config else None

    @property
    def image_size(self) -> int:
        return sum(d.size for d in ([self.config] if self.config else []) + self.layers)


def _invalid(message: str) -> ManifestInvalidError:
    return ManifestInvalidError(f"Manifest invalid: {message}", detail={"reason": message})


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # NaN, Infinity: Python reads them, JSON has no such values


def _document(body: bytes) -> dict:
    try:
        document = json.loads(body, parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: [[[[... nested too deep
        raise _invalid("the body is not JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("the body is not a JSON object.")
    if document.get("schemaVersion") != 2:
        raise _invalid("schemaVersion must be 2.")
    return document


def _media_type(document: dict, content_type: str | None) -> str:
    declared = document.get("mediaType")
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType must be a string.")
    if declared and header in MANIFEST_TYPES and declared != header:
        raise _invalid(f"mediaType '{declared}' does not match Content-Type '{header}'.")
    chosen = declared or (header if header in MANIFEST_TYPES else None)
    if chosen is None:
        chosen = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if chosen not in MANIFEST_TYPES:
        raise _invalid(f"unsupported media type '{chosen[:100]}'; use one of {', '.join(sorted(MANIFEST_TYPES))}.")
    return chosen


def _descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a descriptor object.")
    media_type, size = value.get("mediaType"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise _invalid(f"{where} needs a mediaType.")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where} needs a size (a non-negative integer).")
    platform = value.get("platform") if isinstance(value.get("platform"), dict) else None
    return Descriptor(media_type, parse_digest(value.get("digest")), size, platform, bool(value.get("urls")))


def _descriptors(document: dict, key: str, required: bool) -> list[Descriptor]:
    values = document.get(key, None if required else [])
    if not isinstance(values, list):
        raise _invalid(f"'{key}' must be a list of descriptors.")
    return [_descriptor(value, f"{key}[{i}]") for i, value in enumerate(values)]


def _common(document: dict) -> dict:
    artifact_type, annotations = document.get("artifactType"), document.get("annotations")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise _invalid("artifactType must be a string.")
    if annotations is not None and not (isinstance(annotations, dict)
                                        and all(isinstance(v, str) for v in annotations.values())):
        raise _invalid("annotations must map strings to strings.")
    subject = _descriptor(document["subject"], "subject").digest if document.get("subject") is not None else None
    return {"subject": subject, "declared_artifact_type": artifact_type or None, "annotations": annotations or None}


def parse_manifest(body: bytes, content_type: str | None) -> Manifest:
    document = _document(body)
    media_type = _media_type(document, content_type)
    if media_type in INDEX_TYPES:
        return Manifest(media_type, children=_descriptors(document, "manifests", True), **_common(document))
    if "config" not in document:
        raise _invalid("an image manifest needs a config descriptor.")
    return Manifest(media_type, config=_descriptor(document["config"], "config"),
                    layers=_descriptors(document, "layers", False), **_common(document))


def platform_of_config(config: bytes) -> dict:
    """Architecture, OS and variant from an image config blob, as far as it says."""
    try:
        document = json.loads(config)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: [[[[... nested too deep
        return {}
    if not isinstance(document, dict):
        return {}
    return {key: document[key] for key in ("architecture", "os", "variant") if isinstance(document.get(key), str)}
