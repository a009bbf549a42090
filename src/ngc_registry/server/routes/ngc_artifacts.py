"""Models and resources (PROTOCOL.md §4.3, §4.4): artifacts, versions, file lists and download URLs.

`{kind:kind}` matches only `models` or `resources`; every operation is reachable at `/v2/org/{org}[/team/{team}]/...`
and, for reads, at the guest paths `/v2/{kind}/{org}[/{team}]/...`.
"""

from __future__ import annotations

from typing import NamedTuple

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from ...errors import BadRequestError
from ..auth import policy, signed_urls
from ..auth.policy import Action, Principal, Scope
from ..db.tables import Artifact, Version
from ..deps import DB, Caller, PlainRoute, reads_only
from ..rendering import ngc_status
from ..services import artifacts, audit, orgs
from .artifact_views import (
    KEYS,
    ArtifactBody,
    VersionBody,
    artifact_card_view,
    artifact_view,
    file_view,
    version_card_view,
    version_view,
)

router = APIRouter(route_class=PlainRoute)

ORG = "/v2/org/{org}"
TEAM = "/v2/org/{org}/team/{team}"
GUEST = "/v2/{kind:kind}/{org}"
GUEST_TEAM = "/v2/{kind:kind}/{org}/{team}"


def _ok(**body) -> dict:
    return {**body, "requestStatus": ngc_status()}


def scope_of(artifact: Artifact, creator_id: int | None = None) -> Scope:
    return Scope(org_id=artifact.org_id, team_id=artifact.team_id, public=artifact.is_public,
                 creator_id=creator_id if creator_id is not None else artifact.created_by)


def find(session: Session, principal: Principal, kind: str, org: str, team: str | None, name: str,
         action: Action = Action.VIEW) -> Artifact:
    """The artifact, once the caller may see it and take `action` on it (401 for guests, 403 for others)."""
    org_row = orgs.get_org(session, org)
    team_row = orgs.get_team(session, org_row, team) if team else None
    try:
        artifact = artifacts.get_artifact(session, kind, org_row, team_row, name)
    except artifacts.NotFoundError:  # answer as for a private one: who may not look is not told what exists
        policy.authorize(principal, Action.VIEW, Scope(org_id=org_row.id, team_id=team_row.id if team_row else None))
        raise
    for needed in dict.fromkeys((Action.VIEW, action)):
        policy.authorize(principal, needed, scope_of(artifact))
    return artifact


def find_card(session: Session, principal: Principal, kind: str, org: str, team: str | None, name: str) -> NamedTuple:
    """As `find` for viewing, in one read (`artifacts.artifact_card`); a missing artifact, team or org is answered
    by `find`, which tells them apart."""
    card = artifacts.artifact_card(session, kind, org, team, name)
    if card is None or card.team_deleted:
        find(session, principal, kind, org, team, name)
        raise artifacts.missing_artifact(artifacts.resource_id_of(org, team, name))
    policy.authorize(principal, Action.VIEW, scope_of(card))
    return card


def _latest(session: Session, artifact: Artifact) -> Version | None:
    if not artifact.latest_version:
        return None
    return artifacts.get_version(session, artifact, artifact.latest_version)


@router.get(ORG + "/{kind:kind}/{name}")
@router.get(TEAM + "/{kind:kind}/{name}")
@router.get(GUEST + "/{name}")
@reads_only
def get_artifact(kind: str, org: str, name: str, session: DB, principal: Caller, team: str | None = None) -> dict:
    return _ok(**{KEYS[kind]["artifact"]: artifact_card_view(find_card(session, principal, kind, org, team, name))})


@router.post(ORG + "/{kind:kind}")
@router.post(TEAM + "/{kind:kind}")
def create_artifact(kind: str, org: str, body: ArtifactBody, session: DB, principal: Caller,
                    team: str | None = None) -> dict:
    org_row = orgs.get_org(session, org)
    team_row = orgs.get_team(session, org_row, team) if team else None
    policy.authorize(principal, Action.CREATE, Scope(org_id=org_row.id, team_id=team_row.id if team_row else None))
    if not body.name:
        raise BadRequestError("A name is required.")
    artifact = artifacts.create_artifact(session, kind, org_row, team_row, body.name, body.meta(kind),
                                         principal.user_id)
    if body.isPublic:
        policy.authorize(principal, Action.PUBLISH, scope_of(artifact))
        artifacts.set_public(session, artifact, True, principal.user_id)
    return _ok(**{KEYS[kind]["artifact"]: artifact_view(artifact)})


@router.patch(ORG + "/{kind:kind}/{name}")
@router.patch(TEAM + "/{kind:kind}/{name}")
def update_artifact(kind: str, org: str, name: str, body: ArtifactBody, session: DB, principal: Caller,
                    team: str | None = None) -> dict:
    artifact = find(session, principal, kind, org, team, name, Action.CREATE)
    if body.isPublic is not None:
        policy.authorize(principal, Action.PUBLISH, scope_of(artifact))
        artifacts.set_public(session, artifact, body.isPublic, principal.user_id)
    artifacts.update_artifact(session, artifact, body.meta(kind), principal.user_id)
    return _ok(**{KEYS[kind]["artifact"]: artifact_view(artifact, _latest(session, artifact))})


@router.delete(ORG + "/{kind:kind}/{name}")
@router.delete(TEAM + "/{kind:kind}/{name}")
def delete_artifact(kind: str, org: str, name: str, session: DB, principal: Caller,
                    team: str | None = None) -> dict:
    artifact = find(session, principal, kind, org, team, name, Action.DELETE_MODEL)
    artifacts.delete_artifact(session, artifact, principal.user_id)
    return _ok()


@router.get(ORG + "/{kind:kind}/{name}/versions")
@router.get(TEAM + "/{kind:kind}/{name}/versions")
@router.get(GUEST + "/{name}/versions")
@router.get(GUEST_TEAM + "/{name}/versions")
def list_versions(kind: str, org: str, name: str, session: DB, principal: Caller, team: str | None = None,
                  page_size: int = Query(1000, alias="page-size", ge=1, le=1000),
                  page_number: int = Query(0, alias="page-number", ge=0)) -> dict:
    artifact = find(session, principal, kind, org, team, name)
    rows = artifacts.list_versions(session, artifact)
    page = rows[page_number * page_size:(page_number + 1) * page_size]
    pages = (len(rows) + page_size - 1) // page_size
    return _ok(**{KEYS[kind]["versions"]: [version_view(v) for v in page]},
               paginationInfo={"index": page_number, "size": page_size, "totalResults": len(rows),
                               "totalPages": pages})


# After `GUEST/{name}/versions`, which it would shadow: `/v2/models/<org>/<model>/versions` lists an org model's
# versions; it is not the model "versions" of a team named <model> (that one is at /v2/org/<org>/team/...).
router.add_api_route(GUEST_TEAM + "/{name}", get_artifact, methods=["GET"])


@router.post(ORG + "/{kind:kind}/{name}/versions")
@router.post(TEAM + "/{kind:kind}/{name}/versions")
def create_version(kind: str, org: str, name: str, body: VersionBody, session: DB, principal: Caller,
                   team: str | None = None) -> dict:
    artifact = find(session, principal, kind, org, team, name, Action.CREATE)
    if not body.versionId:
        raise BadRequestError("A versionId is required.")
    version = artifacts.create_version(session, artifact, body.versionId, body.meta(), principal.user_id)
    return _ok(**{KEYS[kind]["version"]: version_view(version)})


@router.get(ORG + "/{kind:kind}/{name}/versions/{version}")
@router.get(TEAM + "/{kind:kind}/{name}/versions/{version}")
@router.get(GUEST + "/{name}/versions/{version}")
@router.get(GUEST_TEAM + "/{name}/versions/{version}")
@reads_only
def get_version(kind: str, org: str, name: str, version: str, session: DB, principal: Caller,
                team: str | None = None) -> dict:
    card = find_card(session, principal, kind, org, team, name)
    return _ok(**{KEYS[kind]["artifact"]: artifact_card_view(card),
                  KEYS[kind]["version"]: version_card_view(artifacts.version_card(session, card, version))})


@router.patch(ORG + "/{kind:kind}/{name}/versions/{version}")
@router.patch(TEAM + "/{kind:kind}/{name}/versions/{version}")
def update_version(kind: str, org: str, name: str, version: str, body: VersionBody, session: DB,
                   principal: Caller, team: str | None = None,
                   set_latest: bool = Query(True, alias="set-latest")) -> dict:
    artifact = find(session, principal, kind, org, team, name, Action.CREATE)
    row = artifacts.update_version(session, artifacts.get_version(session, artifact, version), body.meta())
    if body.status == artifacts.COMPLETE and row.status != artifacts.COMPLETE:
        artifacts.complete_version(session, row, set_latest)
    elif body.status not in (None, row.status):
        raise BadRequestError(f"Cannot change status from {row.status} to {body.status}.")
    change = "complete" if body.status == artifacts.COMPLETE else "update"
    audit.record(session, principal.user_id, artifact.org_id, f"{kind}.version.{change}",
                 f"{artifact.resource_id}:{version}")
    return _ok(**{KEYS[kind]["version"]: version_view(row)})


@router.delete(ORG + "/{kind:kind}/{name}/versions/{version}")
@router.delete(TEAM + "/{kind:kind}/{name}/versions/{version}")
def delete_version(kind: str, org: str, name: str, version: str, session: DB, principal: Caller,
                   team: str | None = None) -> dict:
    artifact = find(session, principal, kind, org, team, name)
    row = artifacts.get_version(session, artifact, version)
    policy.authorize(principal, Action.DELETE_MODEL, scope_of(artifact, row.created_by))
    artifacts.delete_version(session, row, principal.user_id)
    return _ok()


@router.get(ORG + "/{kind:kind}/{name}/versions/{version}/files")
@router.get(TEAM + "/{kind:kind}/{name}/versions/{version}/files")
@router.get(GUEST + "/{name}/versions/{version}/files")
@router.get(GUEST_TEAM + "/{name}/versions/{version}/files")
def list_files(kind: str, org: str, name: str, version: str, session: DB, principal: Caller,
               team: str | None = None, page_size: int = Query(1000, alias="page-size", ge=1, le=10000),
               page_number: int = Query(0, alias="page-number", ge=0)) -> dict:
    artifact = find(session, principal, kind, org, team, name)
    rows = artifacts.version_files(session, artifacts.get_version(session, artifact, version))
    page = rows[page_number * page_size:(page_number + 1) * page_size]
    return _ok(**{KEYS[kind]["files"]: [file_view(row) for row in page]},
               paginationInfo={"index": page_number, "size": page_size, "totalResults": len(rows),
                               "totalPages": (len(rows) + page_size - 1) // page_size})


def download_url(request: Request, digest: str, path: str, size: int) -> str:
    """A presigned URL of the object store, or the server's own signed URL."""
    state = request.app.state
    direct = state.store.download_url(digest, path.rsplit("/", 1)[-1], state.settings.signed_url_ttl) if size else None
    if direct:
        return direct
    token = signed_urls.sign(state.storage_secret, "GET", {"d": digest, "n": path.rsplit("/", 1)[-1], "s": size},
                             state.settings.signed_url_ttl)
    return f"{str(request.base_url).rstrip('/')}/_storage/{token}"


@router.get(ORG + "/{kind:kind}/{name}/{version}/files")
@router.get(TEAM + "/{kind:kind}/{name}/{version}/files")
@router.get("/v2/{kind:kind}/org/{org}/{name}/{version}/files")
@router.get("/v2/{kind:kind}/org/{org}/team/{team}/{name}/{version}/files")
def download_urls(kind: str, org: str, name: str, version: str, request: Request, session: DB, principal: Caller,
                  team: str | None = None, path: str | None = None,
                  page_size: int = Query(1000, alias="page-size", ge=1, le=10000),
                  page_number: int = Query(0, alias="page-number", ge=0)) -> dict:
    artifact = find(session, principal, kind, org, team, name, Action.DOWNLOAD)
    row = artifacts.get_version(session, artifact, version)
    if row.status != artifacts.COMPLETE:
        raise BadRequestError(f"'{artifact.resource_id}:{version}' is not in state UPLOAD_COMPLETE.")
    files = artifacts.version_files(session, row, path)
    if path is not None and not files:
        raise artifacts.NotFoundError(f"File '{path}' not found in '{artifact.resource_id}:{version}'.")
    page = files[page_number * page_size:(page_number + 1) * page_size]
    return _ok(filepath=[f.path for f in page], urls=[download_url(request, f.digest, f.path, f.size) for f in page],
               paginationInfo={"index": page_number, "size": len(page), "totalResults": len(files)})
