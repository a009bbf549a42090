"""Catalog search (PROTOCOL.md §4.2). Models, resources and images register their searchers here as they land."""

from __future__ import annotations

from fastapi import APIRouter

from ...errors import BadRequestError
from ..rendering import ngc_status

router = APIRouter()

RESOURCE_TYPES = ("MODEL", "RECIPE", "CONTAINER", "HELM_CHART", "COLLECTION")


def _empty(resource_type: str) -> dict:
    if resource_type not in RESOURCE_TYPES:
        raise BadRequestError(f"Unknown resource type '{resource_type}'. Use one of {', '.join(RESOURCE_TYPES)}.")
    return {"resultTotal": 0, "resultPageTotal": 0, "requestStatus": ngc_status(),
            "results": [{"groupValue": resource_type, "totalCount": 0, "resources": []}]}


@router.get("/v2/search/catalog/resources/{resource_type}")
@router.get("/v2/search/subscriber/catalog/resources/{resource_type}")
@router.get("/v2/search/org/{org_name}/resources/{resource_type}")
@router.get("/v2/search/org/{org_name}/team/{team_name}/resources/{resource_type}")
def search(resource_type: str) -> dict:
    return _empty(resource_type)


@router.get("/v2/search/labelsets")
def labelsets() -> dict:
    return {"labelSets": [], "requestStatus": ngc_status()}
