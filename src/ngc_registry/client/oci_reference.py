"""Image references as the guide writes them: `org/[team/]image[:tag|@sha256:<hex>]` (tag `latest` by default).

A leading registry host (`nvcr.io/`, `localhost:8000/`) is accepted and dropped: the registry is always the
configured API server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import InvalidNameError
from ..refs import normalize_team_name

DEFAULT_TAG = "latest"
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_HEX_RE = re.compile(r"^[a-f0-9]+\Z")
FORMAT_HINT = "<org>/[<team>/]<image>[:<tag>|@sha256:<digest>]"


@dataclass(frozen=True)
class ImageRef:
    org: str
    team: str | None
    name: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """The OCI repository name: `org/[team/]image`."""
        return "/".join(part for part in (self.org, self.team, self.name) if part)

    @property
    def reference(self) -> str:
        """What goes after `/manifests/`: the digest when there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str | None) -> ImageRef:
        return replace(self, tag=tag, digest=None)

    def __str__(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}" if self.tag else self.repository


def validate_digest(digest: str) -> str:
    algorithm, sep, hex_part = digest.partition(":")
    expected_length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if not sep or expected_length is None or len(hex_part) != expected_length or not _HEX_RE.match(hex_part):
        raise InvalidNameError(f"Invalid digest '{digest}': expected sha256:<64 hex> or sha512:<128 hex>.")
    return digest


def validate_tag(tag: str) -> str:
    if not _TAG_RE.match(tag):
        raise InvalidNameError(f"Invalid tag '{tag}': use up to 128 letters, digits, '_', '.' or '-', "
                               "not starting with '.' or '-'.")
    return tag


def _strip_registry_host(parts: list[str]) -> list[str]:
    first = parts[0]
    if len(parts) > 2 and ("." in first or ":" in first or first == "localhost"):
        return parts[1:]
    return parts


def _split_reference(text: str) -> tuple[str, str | None, str | None]:
    """(path, tag, digest) of `path[:tag][@digest]`; a ':' inside the path (a host port) is not a tag."""
    path, _, digest = text.partition("@")
    slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > slash:
        return path[:colon], path[colon + 1:], digest or None
    return path, None, digest or None


def parse_image_ref(text: str, *, default_tag: str | None = DEFAULT_TAG, reference_allowed: bool = True) -> ImageRef:
    """Parse an image reference; without a tag or digest the tag is `default_tag` (None leaves it unset)."""
    path, tag, digest = _split_reference(text.strip())
    parts = _strip_registry_host(path.split("/")) if path else []
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidNameError(f"Invalid image '{text}': expected {FORMAT_HINT}.")
    if (tag is not None or digest) and not reference_allowed:
        raise InvalidNameError(f"Invalid image '{text}': a tag or digest is not allowed here.")
    for component in (parts[0], parts[-1]):
        if not _COMPONENT_RE.match(component):
            raise InvalidNameError(f"Invalid image '{text}': '{component}' must be lowercase letters and digits, "
                                   "separated by '.', '_' or '-'.")
    org, team, name = (parts[0], None, parts[1]) if len(parts) == 2 else (parts[0], normalize_team_name(parts[1]),
                                                                        parts[2])
    if tag is not None:
        validate_tag(tag)
    if digest:
        validate_digest(digest)
    return ImageRef(org, team, name, tag if tag is not None else (None if digest else default_tag), digest)


def split_list_pattern(text: str) -> tuple[str, str | None]:
    """`org/img:*` → (`org/img`, `*`); a pattern without ':' → (pattern, None)."""
    path, sep, tag_pattern = text.rpartition(":")
    if not sep or "/" in tag_pattern:
        return text, None
    return path, tag_pattern or "*"


def layout_dir_name(ref: ImageRef) -> str:
    """`<image>_<tag>`, or `<image>_<algorithm>-<12 hex>` for a digest, as pull names its output."""
    if ref.digest:
        algorithm, _, hex_part = ref.digest.partition(":")
        return f"{ref.name}_{algorithm}-{hex_part[:12]}"
    return f"{ref.name}_{ref.tag or DEFAULT_TAG}"
