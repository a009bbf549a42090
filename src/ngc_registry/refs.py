"""Names and targets shared by client and server: org, team and artifact names, and `org/[team/]name[:version]`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidNameError

# Words that start NGC API paths under /v2/. OCI repository names start with an org, so an org with one of these
# names would make the two grammars collide: they are refused as org names, and they decide which grammar a path is.
NGC_V2_WORDS = frozenset({"org", "orgs", "users", "search", "products", "models", "resources", "catalog"})
RESERVED_ORG_NAMES = NGC_V2_WORDS | frozenset({
    "user", "token", "roles", "keys", "v2", "v3", "setup", "login", "logout", "static", "api", "admin", "health",
})


def is_ngc_path(path: str) -> bool:
    """True for NGC API paths, False for OCI distribution paths (`/v2/`, `/v2/_catalog`, `/v2/<name>/...`)."""
    if not path.startswith("/v2/"):
        return True
    first = path[4:].split("/", 1)[0]
    return first in NGC_V2_WORDS

# `\Z`, not `$`: `$` also matches before a trailing newline, and "model\n" is not a name.
_ORG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}\Z")
_TEAM_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
_ARTIFACT_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}\Z")
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}\Z")
_EMAIL_RE = re.compile(r"^[^@\s/\\]+@[^@\s/\\]+\.[^@\s/\\]+\Z")


def validate_org_name(name: str) -> str:
    if name.startswith("_") or name in RESERVED_ORG_NAMES:
        raise InvalidNameError(f"Org name '{name}' is reserved.")
    if not _ORG_RE.match(name):
        raise InvalidNameError(
            f"Invalid org name '{name}': use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit.")
    return name


def normalize_team_name(name: str) -> str:
    """Team names are lowercase with hyphens, as the guide shows (`team_a` becomes `team-a`)."""
    normalized = name.strip().lower().replace("_", "-")
    if not _TEAM_RE.match(normalized):
        raise InvalidNameError(
            f"Invalid team name '{name}': use 1-63 letters, digits, '-' or '_', starting with a letter or digit.")
    return normalized


def validate_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL_RE.match(email):
        raise InvalidNameError(f"Invalid email address '{email}'.")
    return email.lower()


@dataclass(frozen=True)
class Target:
    """`org/[team/]name[:version]`; `name` may hold glob characters when a pattern is allowed."""

    org: str
    team: str | None
    name: str
    version: str | None = None

    @property
    def repository(self) -> str:
        return "/".join(part for part in (self.org, self.team, self.name) if part)

    def __str__(self) -> str:
        return self.repository + (f":{self.version}" if self.version else "")


def parse_target(text: str, *, version_allowed: bool = True, version_required: bool = False) -> Target:
    """Parse `org/[team/]name[:version]` as the guide writes targets; raise InvalidNameError with a clear reason."""
    path, sep, version = text.partition(":")
    parts = path.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidNameError(f"Invalid target '{text}': expected <org>/[<team>/]<name>[:<version>].")
    if sep and not version_allowed:
        raise InvalidNameError(f"Invalid target '{text}': a version is not allowed here.")
    if sep and not _VERSION_RE.match(version):
        raise InvalidNameError(f"Invalid version '{version}' in target '{text}'.")
    if version_required and not version:
        raise InvalidNameError(f"Invalid target '{text}': a version is required (<name>:<version>).")
    org, team, name = (parts[0], None, parts[1]) if len(parts) == 2 else parts
    return Target(org=org, team=team, name=name, version=version or None)


def validate_version(version: str) -> str:
    """A version id: it names a directory on the client (`<name>_v<version>`), so no separators or dots first."""
    if not _VERSION_RE.match(version):
        raise InvalidNameError(f"Invalid version {version[:140]!r}: use up to 128 letters, digits, '_', '.', '+' "
                               "or '-', starting with a letter or digit.")
    return version


def validate_artifact_name(name: str) -> str:
    if not _ARTIFACT_RE.match(name):
        raise InvalidNameError(
            f"Invalid name '{name}': use lowercase letters, digits, '_', '-' or '.', starting with a letter or digit.")
    return name
