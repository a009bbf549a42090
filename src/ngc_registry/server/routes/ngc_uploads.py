"""NGC upload calls (PROTOCOL.md §5.2): hash check, multipart start/complete, commit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ...errors import BadRequestError, NotFoundError
from ..auth import signed_urls
from ..auth.policy import Action, Principal
from ..db.locks import lock_row
from ..db.tables import Upload, Version
from ..deps import DB, Caller, PlainRoute
from ..rendering import ngc_status
from ..services import artifacts, audit, blobs, transfers
from .ngc_artifacts import ORG, TEAM, find

router = APIRouter(route_class=PlainRoute)


class HashCheck(BaseModel):
    files: list[dict[str, str]] = Field(max_length=10000)


@router.post(ORG + "/{kind:kind}/{name}/files")
@router.post(TEAM + "/{kind:kind}/{name}/files")
def hash_check(kind: str, org: str, name: str, body: HashCheck, session: DB, principal: Caller,
               team: str | None = None) -> dict:
    find(session, principal, kind, org, team, name, Action.CREATE)
    wanted = {entry.get("sha256", ""): transfers.digest_from_b64(entry.get("sha256", "")) for entry in body.files}
    present = blobs.touch(session, transfers.readable_digests(session, principal, set(wanted.values())))
    return {"files": [{"sha256": b64, "exists": digest in present} for b64, digest in wanted.items()],
            "requestStatus": ngc_status()}


MAX_FILE_SIZE = 5 << 40  # 5 TiB, as S3: a file's part URLs are listed in one answer


class MultipartBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    version: str
    artifactType: str = "models"
    filePath: str
    size: int | None = Field(default=None, ge=0, le=MAX_FILE_SIZE)
    sha256: str | None = None
    uploadID: str | None = None
    partNumberList: list[int] | None = Field(default=None, max_length=100000)


def _pending_version(session: Session, principal: Principal, org: str, team: str | None,
                     body: MultipartBody) -> Version:
    if body.artifactType not in artifacts.KINDS:
        raise BadRequestError(f"Unknown artifactType '{body.artifactType}': use models or resources.")
    artifact = find(session, principal, body.artifactType, org, team, body.name, Action.CREATE)
    return artifacts.get_version(session, artifact, body.version)


def part_url(request: Request, upload: Upload, number: int) -> str:
    state = request.app.state
    token = signed_urls.sign(state.storage_secret, "PUT", {"u": upload.id, "p": number},
                             state.settings.signed_url_ttl)
    return f"{str(request.base_url).rstrip('/')}/_storage/{token}"


def part_urls(request: Request, upload: Upload, numbers: list[int]) -> list[str]:
    """Presigned UploadPart URLs of the object store, or the server's own signed URLs."""
    state = request.app.state
    if state.store.presigns:
        return state.store.part_urls(upload.id, numbers, state.settings.signed_url_ttl)
    return [part_url(request, upload, number) for number in numbers]


@router.post(ORG + "/files/multipart")
@router.post(TEAM + "/files/multipart")
def start_multipart(org: str, body: MultipartBody, request: Request, session: DB, principal: Caller,
                    team: str | None = None) -> dict:
    version = _pending_version(session, principal, org, team, body)
    if body.size is None and not body.uploadID:
        raise BadRequestError("'size' is required to start an upload.")
    expected = transfers.digest_from_b64(body.sha256) if body.sha256 else None
    upload = transfers.start_upload(session, version, principal.user_id, body.filePath,
                                    body.size if body.size is not None else -1, expected,
                                    max(request.app.state.settings.part_size, request.app.state.store.min_part_size),
                                    body.uploadID)
    numbers = body.partNumberList or list(range(1, transfers.part_count(upload.size, upload.part_size) + 1))
    return {"uploadID": upload.id, "urls": part_urls(request, upload, numbers),
            "partSize": upload.part_size, "requestStatus": ngc_status()}


@router.put(ORG + "/files/multipart")
@router.put(TEAM + "/files/multipart")
def complete_multipart(org: str, body: MultipartBody, request: Request, session: DB, principal: Caller,
                       team: str | None = None) -> dict:
    version = _pending_version(session, principal, org, team, body)
    upload = session.get(Upload, body.uploadID or "")
    if upload is None or upload.version_id != version.id or upload.path != body.filePath:
        raise NotFoundError(f"Upload '{body.uploadID}' not found for '{body.filePath}'.")
    if body.sha256 and upload.expected_digest is None:
        upload.expected_digest = transfers.digest_from_b64(body.sha256)
    digest = transfers.complete_upload(session, request.app.state.store, upload)
    return {"filePath": upload.path, "sha256": transfers.digest_to_b64(digest), "requestStatus": ngc_status()}


class CommitBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    version: str
    artifactType: str = "models"
    files: list[dict[str, str]] = Field(default_factory=list, max_length=4000)
    baseVersion: str | None = None


@router.post(ORG + "/files/commit")
@router.post(TEAM + "/files/commit")
def commit(org: str, body: CommitBody, session: DB, principal: Caller, team: str | None = None) -> dict:
    if body.artifactType not in artifacts.KINDS:
        raise BadRequestError(f"Unknown artifactType '{body.artifactType}': use models or resources.")
    artifact = find(session, principal, body.artifactType, org, team, body.name, Action.CREATE)
    version = artifacts.get_version(session, artifact, body.version)
    lock_row(session, version)  # commits to one version run one at a time: its file count and size stay right
    if body.baseVersion:
        base = artifacts.get_version(session, artifact, body.baseVersion)
        artifacts.copy_files(session, base, version)
    transfers.commit_files(session, principal, version, body.files)
    audit.record(session, principal.user_id, artifact.org_id, f"{artifact.kind}.version.commit",
                 f"{artifact.resource_id}:{version.version} ({len(body.files)} files)")
    return {"committed": len(body.files), "requestStatus": ngc_status()}
