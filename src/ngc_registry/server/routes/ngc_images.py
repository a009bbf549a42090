"""Container images over the NGC API (PROTOCOL.md §4.5) and the CONTAINER search (§4.2).

I1 repository info, I2 image (tag) list, I3 and I4 one tag; plus PATCH of a repository's metadata, visibility and
latest tag (a repository not pushed yet is created by it), and DELETE of a repository or one tag. Bytes move only
through the OCI API (routes/oci.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ...errors import ManifestUnknownError
from ..auth.policy import Action, Principal
from ..db.tables import ImageManifest, ImageRepository, ImageTag, Org, Team
from ..deps import DB, Caller, PlainRoute
from ..rendering import ngc_status
from ..services import images, images_manifests, search
from .views import ngc_date, paged

router = APIRouter(route_class=PlainRoute)

REPO = "/v2/org/{org}/repos/{repo}"
TEAM_REPO = "/v2/org/{org}/team/{team}/repos/{repo}"


class RepositoryBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    displayName: str | None = Field(default=None, max_length=256)
    shortDescription: str | None = Field(default=None, max_length=4096)
    description: str | None = Field(default=None, max_length=1 << 20)  # the overview
    labels: list[str] | None = Field(default=None, max_length=100)
    isPublic: bool | None = None
    latestTag: str | None = Field(default=None, max_length=128)

    def meta(self) -> dict:
        return self.model_dump(exclude_unset=True, exclude={"isPublic", "latestTag"})


def _name(org: str, team: str | None, repo: str) -> str:
    return "/".join(part for part in (org, team, repo) if part)


def _find(session: Session, principal: Principal, org: str, team: str | None, repo: str) -> ImageRepository:
    return images.repository_for(session, principal, _name(org, team, repo), Action.VIEW)


def _tag(session: Session, repository: ImageRepository, tag: str) -> ImageTag:
    found = images.get_tag(session, repository, tag)
    if found is None:
        raise ManifestUnknownError(f"Target '{repository.name}:{tag}' could not be found.")
    return found


def _architectures(manifest: ImageManifest) -> list[dict]:
    return images_manifests.architecture_variants(manifest)


def repository_view(session: Session, repository: ImageRepository) -> dict:
    latest, meta = images.latest_manifest(session, repository), repository.meta
    return {"name": repository.image, "displayName": meta.get("displayName") or repository.image,
            "resourceId": repository.name, "orgName": repository.org.name,
            "teamName": repository.team.name if repository.team else None,
            "shortDescription": meta.get("shortDescription"), "description": meta.get("description"),
            "labels": list(meta.get("labels") or []), "isPublic": repository.is_public,
            "latestTag": repository.latest_tag, "latestImageSize": latest.image_size if latest else 0,
            "latestImageDigest": latest.digest if latest else None,
            "createdDate": ngc_date(repository.created_at), "updatedDate": ngc_date(repository.updated_at),
            "tags": [tag.name for tag in images.tags_by_recency(session, repository)],
            "sharedWithOrgs": [], "sharedWithTeams": [],
            "latestArchitectureVariants": _architectures(latest) if latest else [], "requestStatus": ngc_status()}


def image_view(tag: ImageTag) -> dict:
    manifest = tag.manifest
    return {"tag": tag.name, "size": manifest.image_size, "updatedDate": ngc_date(tag.updated_at),
            "isSigned": False, "digest": manifest.digest, "mediaType": manifest.media_type,
            "architectureVariants": _architectures(manifest)}


@router.get(REPO)
@router.get(TEAM_REPO)
def get_repository(org: str, repo: str, session: DB, principal: Caller, team: str | None = None) -> dict:
    return repository_view(session, _find(session, principal, org, team, repo))


@router.get(REPO + "/images")
@router.get(TEAM_REPO + "/images")
def list_images(org: str, repo: str, session: DB, principal: Caller, team: str | None = None,
                page_size: int = Query(100, alias="page-size", ge=1, le=1000),
                page_number: int = Query(0, alias="page-number", ge=0)) -> dict:
    tags = images.tags_by_recency(session, _find(session, principal, org, team, repo))
    page = tags[page_number * page_size:(page_number + 1) * page_size]
    return {**paged([image_view(tag) for tag in page], "images", page_number, page_size, len(tags)),
            "requestStatus": ngc_status()}


@router.get(REPO + "/images/{tag}")
@router.get(TEAM_REPO + "/images/{tag}")
def get_image(org: str, repo: str, tag: str, session: DB, principal: Caller, team: str | None = None) -> dict:
    repository = _find(session, principal, org, team, repo)
    manifest = _tag(session, repository, tag).manifest
    architectures = sorted({a["architecture"] for a in _architectures(manifest) if a["architecture"]})
    return {"name": repository.name, "tag": tag, "architecture": ", ".join(architectures) or None,
            "schemaVersion": 2, "mediaType": manifest.media_type, "digest": manifest.digest,
            "fsLayers": [], "history": [], "signatures": [], "requestStatus": ngc_status()}


@router.get(REPO + "/tags/{tag}")
@router.get(TEAM_REPO + "/tags/{tag}")
def get_tag(org: str, repo: str, tag: str, session: DB, principal: Caller, team: str | None = None) -> dict:
    found = _tag(session, _find(session, principal, org, team, repo), tag)
    return {**image_view(found), "requestStatus": ngc_status()}


@router.patch(REPO)
@router.patch(TEAM_REPO)
def update_repository(org: str, repo: str, body: RepositoryBody, session: DB, principal: Caller,
                      team: str | None = None) -> dict:
    repository = images.edit_repository(session, principal, _name(org, team, repo), body.meta(), body.isPublic,
                                        body.latestTag)
    return repository_view(session, repository)


@router.delete(REPO)
@router.delete(TEAM_REPO)
def delete_repository(org: str, repo: str, session: DB, principal: Caller, team: str | None = None) -> dict:
    images.remove_repository(session, principal, _name(org, team, repo))
    return {"requestStatus": ngc_status()}


@router.delete(REPO + "/images/{tag}")
@router.delete(TEAM_REPO + "/images/{tag}")
def delete_image(org: str, repo: str, tag: str, session: DB, principal: Caller, team: str | None = None) -> dict:
    images_manifests.delete_manifest(session, principal, _name(org, team, repo), tag)
    return {"requestStatus": ngc_status()}


def resource_view(repository: ImageRepository, size: int | None) -> dict:
    meta = repository.meta
    attributes = {"latestTag": repository.latest_tag, "size": size}
    return {"resourceId": repository.name, "resourceType": "CONTAINER", "name": repository.image,
            "displayName": meta.get("displayName") or repository.image, "orgName": repository.org.name,
            "teamName": repository.team.name if repository.team else None,
            "description": meta.get("shortDescription"), "dateCreated": ngc_date(repository.created_at),
            "dateModified": ngc_date(repository.updated_at), "createdBy": None, "isPublic": repository.is_public,
            "guestAccess": repository.is_public, "sharedWithOrgs": [], "sharedWithTeams": [],
            "labels": [{"key": "general", "values": list(meta.get("labels") or [])}],
            "attributes": [{"key": k, "value": str(v)} for k, v in attributes.items() if v is not None]}


def search_results(session: Session, principal: Principal, query: search.Query | None, org: Org | None = None,
                   team: Team | None = None) -> dict:
    """The CONTAINER group of a search: the catalog's public images, or what the caller sees in an org or team."""
    like, page, size = search.glob_to_like(query.pattern), query.page, query.page_size
    if org is None:
        rows, total = images.search_catalog(session, principal, like, page, size)
    else:
        rows, total = images.search_space(session, principal, like, page, size, org, team)
    sizes = images.latest_sizes(session, rows)
    return {"resultTotal": total, "resultPageTotal": (total + size - 1) // size, "requestStatus": ngc_status(),
            "results": [{"groupValue": "CONTAINER", "totalCount": total,
                         "resources": [resource_view(r, sizes.get(r.id)) for r in rows]}]}

