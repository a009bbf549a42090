"""Models and resources (model-scripts) and their versions: metadata, life cycle, file lists."""

from __future__ import annotations

import posixpath
import unicodedata
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ...errors import AlreadyExistsError, BadRequestError, InvalidArgumentError, NotFoundError
from ...refs import validate_artifact_name, validate_version
from ..db.locks import lock_row
from ..db.prepared import PreparedRead
from ..db.tables import Artifact, Org, Team, User, Version, VersionFile, utcnow
from . import audit

KINDS = ("models", "resources")
PENDING, COMPLETE = "UPLOAD_PENDING", "UPLOAD_COMPLETE"
MAX_METRIC_TABLES, MAX_METRIC_ATTRIBUTES = 3, 12
MAX_PATH_BYTES = 1024


def label_of(kind: str) -> str:
    return "Model" if kind == "models" else "Resource"


def resource_id(org: Org, team: Team | None, name: str) -> str:
    return resource_id_of(org.name, team.name if team else None, name)


def resource_id_of(org: str, team: str | None, name: str) -> str:
    return "/".join(part for part in (org, team, name) if part)


# Statements of the hottest lookups are built once: building one costs more than running it on SQLite.
_ARTIFACT_BY_RESOURCE_ID = select(Artifact).where(Artifact.kind == bindparam("kind"),
                                                  Artifact.resource_id == bindparam("rid"))
_VERSION_BY_NAME = select(Version).where(Version.artifact_id == bindparam("artifact_id"),
                                         Version.version == bindparam("version"))


_creator, _latest = User.__table__.alias("creator"), Version.__table__.alias("latest")
_ARTIFACT_CARD = PreparedRead(  # an artifact with what its page shows of its org, team, creator and latest version
    select(Artifact.__table__, Org.__table__.c.name.label("org_name"), Team.__table__.c.name.label("team_name"),
           Team.__table__.c.is_deleted.label("team_deleted"), _creator.c.email.label("creator_email"),
           _latest.c.id.label("latest_id"), _latest.c.total_size.label("latest_size"))
    .join(Org.__table__, Org.__table__.c.id == Artifact.__table__.c.org_id)
    .outerjoin(Team.__table__, Team.__table__.c.id == Artifact.__table__.c.team_id)
    .outerjoin(_creator, _creator.c.id == Artifact.__table__.c.created_by)
    .outerjoin(_latest, (_latest.c.artifact_id == Artifact.__table__.c.id)
               & (_latest.c.version == Artifact.__table__.c.latest_version))
    .where(Artifact.__table__.c.kind == bindparam("kind"), Artifact.__table__.c.resource_id == bindparam("rid")))
_VERSION_CARD = PreparedRead(
    select(Version.__table__, _creator.c.email.label("creator_email"))
    .outerjoin(_creator, _creator.c.id == Version.__table__.c.created_by)
    .where(Version.__table__.c.artifact_id == bindparam("artifact_id"),
           Version.__table__.c.version == bindparam("version")))


def artifact_card(session: Session, kind: str, org: str, team: str | None, name: str) -> NamedTuple | None:
    """The artifact's columns and `org_name`, `team_name`, `team_deleted`, `creator_email`, `latest_id` and
    `latest_size`, in one read-only statement (the hot read of a model page), or None."""
    rid = resource_id_of(org, team, name)
    return _ARTIFACT_CARD.first(session, {"kind": kind, "rid": rid})


def version_card(session: Session, card: NamedTuple, version: str) -> NamedTuple:
    """A version's columns and its `creator_email`, in one read-only statement."""
    found = _VERSION_CARD.first(session, {"artifact_id": card.id, "version": version})
    if found is None:
        raise _missing_version(card.resource_id, version)
    return found


def get_artifact(session: Session, kind: str, org: Org, team: Team | None, name: str) -> Artifact:
    found = session.scalar(_ARTIFACT_BY_RESOURCE_ID, {"kind": kind, "rid": resource_id(org, team, name)})
    if found is None:
        raise missing_artifact(resource_id(org, team, name))
    set_committed_value(found, "org", org)  # the caller holds them; spares a lazy load each
    set_committed_value(found, "team", team)
    return found


def create_artifact(session: Session, kind: str, org: Org, team: Team | None, name: str, meta: dict,
                    actor_id: int | None) -> Artifact:
    validate_artifact_name(name)
    rid = resource_id(org, team, name)
    if session.scalar(select(Artifact.id).where(Artifact.kind == kind, Artifact.resource_id == rid)) is not None:
        raise AlreadyExistsError(f"Target '{rid}' already exists.")
    artifact = Artifact(kind=kind, resource_id=rid, org_id=org.id, team_id=team.id if team else None, name=name,
                        created_by=actor_id, meta=meta)
    session.add(artifact)
    session.flush()
    audit.record(session, actor_id, org.id, f"{kind}.create", rid)
    return artifact


def update_artifact(session: Session, artifact: Artifact, changes: dict, actor_id: int | None) -> Artifact:
    lock_row(session, artifact)  # concurrent changes to other fields are kept
    artifact.meta = {**artifact.meta, **changes}
    artifact.updated_at = utcnow()
    audit.record(session, actor_id, artifact.org_id, f"{artifact.kind}.update", artifact.resource_id)
    return artifact


def set_public(session: Session, artifact: Artifact, public: bool, actor_id: int | None) -> None:
    artifact.is_public = public
    artifact.updated_at = utcnow()
    audit.record(session, actor_id, artifact.org_id, f"{artifact.kind}.public={public}", artifact.resource_id)


def delete_artifact(session: Session, artifact: Artifact, actor_id: int | None) -> None:
    """Metadata goes at once; bytes stay in the store until garbage collection finds them unreferenced."""
    audit.record(session, actor_id, artifact.org_id, f"{artifact.kind}.delete", artifact.resource_id)
    session.delete(artifact)


def _validate_metrics_table(table: object) -> None:
    name = table.get("name") if isinstance(table, dict) else None
    attributes = table.get("attributes") if isinstance(table, dict) else None
    if not isinstance(name, str) or not isinstance(attributes, list):
        raise InvalidArgumentError("A metrics table needs a 'name' and a list of 'attributes'.")
    if not 1 <= len(attributes) <= MAX_METRIC_ATTRIBUTES:
        raise InvalidArgumentError(f"Metrics table '{name}' must have 1 to {MAX_METRIC_ATTRIBUTES} attributes.")
    if not all(isinstance(a, dict) and {"key", "value"} <= a.keys() for a in attributes):
        raise InvalidArgumentError(f"Every attribute of metrics table '{name}' needs 'key' and 'value'.")


def validate_metrics(tables: list) -> list:
    if len(tables) > MAX_METRIC_TABLES:
        raise InvalidArgumentError(f"At most {MAX_METRIC_TABLES} metrics tables per version.")
    for table in tables:
        _validate_metrics_table(table)
    return tables


def get_version(session: Session, artifact: Artifact, version: str) -> Version:
    found = session.scalar(_VERSION_BY_NAME, {"artifact_id": artifact.id, "version": version})
    if found is None:
        raise _missing_version(artifact.resource_id, version)
    return found


def missing_artifact(rid: str) -> NotFoundError:
    return NotFoundError(f"Target '{rid}' could not be found.")


def _missing_version(rid: str, version: str) -> NotFoundError:
    return NotFoundError(f"Target '{rid}:{version}' could not be found.")


def list_versions(session: Session, artifact: Artifact) -> list[Version]:
    return list(session.scalars(select(Version).where(Version.artifact_id == artifact.id)
                                .order_by(Version.created_at.desc(), Version.id.desc())))


def create_version(session: Session, artifact: Artifact, version: str, meta: dict, actor_id: int | None) -> Version:
    validate_version(version)
    exists = session.scalar(select(Version.id).where(Version.artifact_id == artifact.id, Version.version == version))
    if exists is not None:
        raise AlreadyExistsError(f"Target '{artifact.resource_id}:{version}' already exists.")
    validate_metrics(meta.get("customMetrics") or [])
    row = Version(artifact_id=artifact.id, version=version, created_by=actor_id, meta=meta)
    session.add(row)
    session.flush()
    audit.record(session, actor_id, artifact.org_id, f"{artifact.kind}.version.create",
                 f"{artifact.resource_id}:{version}")
    return row


def update_version(session: Session, version: Version, changes: dict) -> Version:
    if "customMetrics" in changes:
        validate_metrics(changes["customMetrics"] or [])
    lock_row(session, version)
    version.meta = {**version.meta, **changes}
    version.updated_at = utcnow()
    return version


def complete_version(session: Session, version: Version, set_latest: bool = True) -> Version:
    version.status = COMPLETE
    version.updated_at = utcnow()
    if set_latest:
        version.artifact.latest_version = version.version
        version.artifact.updated_at = utcnow()
    return version


def delete_version(session: Session, version: Version, actor_id: int | None) -> None:
    artifact = version.artifact
    session.delete(version)
    session.flush()
    if artifact.latest_version == version.version:
        remaining = [v for v in list_versions(session, artifact) if v.status == COMPLETE]
        artifact.latest_version = remaining[0].version if remaining else None
    audit.record(session, actor_id, artifact.org_id, f"{artifact.kind}.version.delete",
                 f"{artifact.resource_id}:{version.version}")


def version_files(session: Session, version: Version, path: str | None = None) -> list[VersionFile]:
    query = select(VersionFile).where(VersionFile.version_id == version.id)
    if path is not None:
        query = query.where(VersionFile.path == path)
    return list(session.scalars(query.order_by(VersionFile.path)))


# Control, format (invisible), surrogate, private-use and unassigned characters have no place in a file name.
_NOT_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Look-alikes of '/', '\\' and '.' that compatibility normalisation (NFKC) does not fold into the real ones.
_SEPARATOR_LOOK_ALIKES = frozenset("\u2215\u2044\u29f8\u29f9\u2216\ufe68\u2024\u2025\u2026")


def _imitates_separators(path: str) -> bool:
    """True when the path shows a separator or a dot that is not one (`a／..／b`, `a∕b`, `．．`)."""
    if path.isascii():
        return False
    folded = unicodedata.normalize("NFKC", path)
    if folded.count("/") != path.count("/") or "\\" in folded or ".." in folded.split("/"):
        return True
    return any(ch in _SEPARATOR_LOOK_ALIKES or unicodedata.normalize("NFKC", ch) in ("/", "\\", ".")
               for ch in path if not ch.isascii())


def validate_file_path(path: str) -> str:
    """A relative POSIX path inside a version: no absolute paths, `..`, backslashes, NUL or control characters."""
    if not path or len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise BadRequestError(f"Invalid file path {path[:80]!r}: empty or longer than {MAX_PATH_BYTES} bytes.")
    if any(unicodedata.category(ch) in _NOT_IN_NAMES for ch in path) or "\\" in path:
        raise BadRequestError(f"Invalid file path {path!r}: control characters and backslashes are not allowed.")
    if unicodedata.normalize("NFC", path) != path:
        raise BadRequestError(f"Invalid file path {path!r}: use Unicode NFC form.")
    if _imitates_separators(path):
        raise BadRequestError(f"Invalid file path {path!r}: it uses characters that look like '/', '\\' or '.'.")
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") for part in parts) or posixpath.normpath(path) != path:
        raise BadRequestError(f"Invalid file path '{path}': it must be a relative path without '.', '..' or '//'.")
    return path


def commit_file(session: Session, version: Version, path: str, digest: str, size: int) -> None:
    """Add or replace one file of a pending version."""
    existing = version_files(session, version, path)
    if existing:
        version.total_size -= existing[0].size
        session.delete(existing[0])
        session.flush()
    else:
        version.file_count += 1
    session.add(VersionFile(version_id=version.id, path=path, digest=digest, size=size))
    version.total_size += size


def copy_files(session: Session, source: Version, target: Version) -> None:
    """`--base-version`: start a version with every file of another one (no bytes move)."""
    for row in version_files(session, source):
        commit_file(session, target, row.path, row.digest, row.size)
