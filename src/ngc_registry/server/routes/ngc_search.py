"""Catalog search (PROTOCOL.md §4.2): three URLs per list, `resourceId:<glob>` queries, paging by `page`."""

from __future__ import annotations

import json

from fastapi import APIRouter
from sqlalchemy import Row

from ...errors import BadRequestError
from ..deps import DB, Caller, PlainRoute
from ..rendering import ngc_status
from ..services import orgs, search
from . import ngc_images
from .views import ngc_date

router = APIRouter(route_class=PlainRoute)

KIND_OF_TYPE = {"MODEL": "models", "RECIPE": "resources", "CONTAINER": "images"}
RESOURCE_TYPES = ("MODEL", "RECIPE", "CONTAINER", "HELM_CHART", "COLLECTION")
MAX_PAGE = 1_000_000  # page * pageSize stays a valid SQL OFFSET


def parse_query(resource_type: str, q: str | None) -> search.Query | None:
    """The search to run, or None for a type this registry holds nothing of."""
    if resource_type not in RESOURCE_TYPES:
        raise BadRequestError(f"Unknown resource type '{resource_type}'. Use one of {', '.join(RESOURCE_TYPES)}.")
    try:
        body = json.loads(q) if q else {}
        text = str(body.get("query") or "resourceId:*")
        page, size = int(body.get("page", 0)), int(body.get("pageSize", 100))
    except (ValueError, AttributeError, TypeError, OverflowError, RecursionError):  # 1e999, [[[[...
        raise BadRequestError("Invalid search query 'q': expected the NGC search JSON.") from None
    if not 0 <= page <= MAX_PAGE or not 1 <= size <= 1000:
        raise BadRequestError(f"Search 'page' must be 0..{MAX_PAGE} and 'pageSize' 1..1000.")
    pattern = text.split("resourceId:", 1)[1].strip() if "resourceId:" in text else f"*{text.strip()}*"
    kind = KIND_OF_TYPE.get(resource_type)
    return search.Query(kind, pattern or "*", page, size) if kind else None


def resource_view(artifact: Row, resource_type: str) -> dict:
    """One search result from a row of `search.page_rows`."""
    meta = artifact.meta
    attributes = {"latestVersionIdStr": artifact.latest_version, "latestVersionSizeInBytes": artifact.latest_size,
                  "application": meta.get("application"), "framework": meta.get("framework"),
                  "precision": meta.get("precision"), "format": meta.get("modelFormat")}
    return {"resourceId": artifact.resource_id, "resourceType": resource_type, "name": artifact.name,
            "displayName": meta.get("displayName") or artifact.name, "orgName": artifact.org_name,
            "teamName": artifact.team_name, "description": meta.get("shortDescription"),
            "dateCreated": ngc_date(artifact.created_at), "dateModified": ngc_date(artifact.updated_at),
            "createdBy": None, "isPublic": artifact.is_public, "guestAccess": artifact.is_public,
            "sharedWithOrgs": [], "sharedWithTeams": [],
            "labels": [{"key": "general", "values": list(meta.get("labels") or [])}],
            "attributes": [{"key": k, "value": str(v)} for k, v in attributes.items() if v is not None]}


def _results(resource_type: str, query: search.Query | None, found: tuple[list, int]) -> dict:
    rows, total = found
    pages = (total + query.page_size - 1) // query.page_size if query else 0
    return {"resultTotal": total, "resultPageTotal": pages, "requestStatus": ngc_status(),
            "results": [{"groupValue": resource_type, "totalCount": total,
                         "resources": [resource_view(row, resource_type) for row in rows]}]}


@router.get("/v2/search/catalog/resources/{resource_type}")
def search_catalog(resource_type: str, session: DB, principal: Caller, q: str | None = None) -> dict:
    query = parse_query(resource_type, q)
    if resource_type == "CONTAINER":
        return ngc_images.search_results(session, principal, query)
    found = search.search_catalog(session, principal, query) if query else ([], 0)
    return _results(resource_type, query, found)


@router.get("/v2/search/subscriber/catalog/resources/{resource_type}")
def search_subscriber(resource_type: str, q: str | None = None) -> dict:
    """Content shared with subscribers of NVIDIA products: a self-hosted registry has none."""
    parse_query(resource_type, q)
    return _results(resource_type, None, ([], 0))


@router.get("/v2/search/org/{org_name}/resources/{resource_type}")
@router.get("/v2/search/org/{org_name}/team/{team_name}/resources/{resource_type}")
def search_space(org_name: str, resource_type: str, session: DB, principal: Caller, team_name: str | None = None,
                 q: str | None = None) -> dict:
    query = parse_query(resource_type, q)
    org = orgs.get_org(session, org_name)
    team = orgs.get_team(session, org, team_name) if team_name else None
    if resource_type == "CONTAINER":
        return ngc_images.search_results(session, principal, query, org, team)
    found = search.search_space(session, principal, query, org, team) if query else ([], 0)
    return _results(resource_type, query, found)


@router.get("/v2/search/labelsets")
def labelsets() -> dict:
    return {"labelSets": [], "requestStatus": ngc_status()}
