"""What the NGC API clients build requests from: escaped path segments, the `{ot}` space path, search queries."""

from __future__ import annotations

import json
from urllib.parse import quote

RESOURCE_SEARCH_FIELDS = ["attributes", "createdBy", "dateCreated", "dateModified", "description", "displayName",
                          "guestAccess", "isPublic", "labels", "latestVersionId", "name", "orgName", "sharedWithOrgs",
                          "sharedWithTeams", "teamName"]


def segment(value: str) -> str:
    return quote(value, safe="")


def space_path(org: str, team: str | None = None) -> str:
    """`/v2/org/{org}[/team/{team}]`, the `{ot}` of PROTOCOL.md."""
    return f"/v2/org/{segment(org)}" + (f"/team/{segment(team)}" if team else "")


def search_query(pattern: str, page: int, page_size: int, fields: list[str] = RESOURCE_SEARCH_FIELDS) -> str:
    """The `q` of a search, in the one shape the official client sends (§4.2)."""
    return json.dumps({"fields": fields, "filters": [], "orderBy": [{"field": "score", "value": "ASC"}],
                       "page": page, "pageSize": page_size, "query": f"resourceId:{pattern}",
                       "queryFields": ["name", "displayName", "description", "all"]})
