"""The NGC REST API of the registry: one method per endpoint, each returning the parsed JSON body."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from .http import UNSCOPED, Session
from .ngc_paths import search_query
from .ngc_paths import segment as _segment
from .ngc_paths import space_path as _org_path
from .tokens import TokenCache, is_personal_key

USERS_PAGE_SIZE = 100
LIST_PAGE_SIZE = 500
DEFAULT_SEARCH_FIELDS = ["name", "displayName", "description", "orgName", "teamName", "dateModified"]


def model_search_query(pattern: str = "*", page: int = 0, page_size: int = 1) -> str:
    return search_query(pattern, page, page_size, DEFAULT_SEARCH_FIELDS)


class RegistryApi:
    """Typed-error calls on a `Session`; org/team calls ask for a token scoped to that org/team."""

    def __init__(self, session: Session):
        self.session = session

    def close(self) -> None:
        self.session.close()

    # -- account ------------------------------------------------------------------------------------------

    def validate_api_key(self) -> dict:
        """Prove the key works: an unscoped token for a legacy key, the caller info for an `nvapi-` key."""
        if is_personal_key(self.session.api_key):
            return self.get_caller_info(self.session.api_key)
        return self.session.fetch_token()

    def get_current_user(self, org: str | None = None) -> dict:
        params = {"org-name": org} if org else None
        return self.session.request_json("GET", "/v2/users/me", params=params, scope=(org, None))

    def get_caller_info(self, api_key: str) -> dict:
        return self.session.request_json("POST", "/v3/keys/get-caller-info", data={"credentials": api_key},
                                         authenticate=False)

    def list_roles(self, show_hidden: bool = False) -> dict:
        return self.session.request_json("GET", "/roles", params={"show-hidden": str(show_hidden).lower()})

    def list_products(self) -> dict:
        return self.session.request_json("GET", "/v2/products")

    # -- orgs and teams -----------------------------------------------------------------------------------

    def list_orgs(self) -> dict:
        return self.session.request_json("GET", "/v2/orgs", params={"page-size": LIST_PAGE_SIZE})

    def get_org(self, org: str) -> dict:
        return self.session.request_json("GET", f"/v2/orgs/{_segment(org)}", scope=(org, None))

    def list_teams(self, org: str) -> dict:
        return self.session.request_json("GET", f"{_org_path(org)}/teams", params={"page-size": LIST_PAGE_SIZE},
                                         scope=(org, None))

    def get_team(self, org: str, team: str) -> dict:
        return self.session.request_json("GET", f"{_org_path(org)}/teams/{_segment(team)}", scope=(org, team))

    def create_team(self, org: str, name: str, description: str) -> dict:
        return self.session.request_json("POST", f"{_org_path(org)}/teams",
                                         json={"name": name, "description": description}, scope=(org, None))

    # -- users --------------------------------------------------------------------------------------------

    def list_users_page(self, org: str, team: str | None = None, page_number: int = 0) -> dict:
        params = {"page-size": USERS_PAGE_SIZE, "page-number": page_number}
        return self.session.request_json("GET", f"{_org_path(org, team)}/users", params=params, scope=(org, team))

    def iter_users(self, org: str, team: str | None = None) -> Iterator[dict]:
        """Every user of the org (or team), page after page until `paginationInfo.totalPages`."""
        page_number = 0
        while True:
            page = self.list_users_page(org, team, page_number)
            users = page.get("users") or []
            yield from users
            total_pages = (page.get("paginationInfo") or {}).get("totalPages") or 0
            page_number += 1
            if not users or page_number >= total_pages:
                return

    def add_org_user(self, org: str, email: str, name: str, roles: list[str]) -> dict:
        body = {"email": email, "name": name, "roleTypes": list(roles)}
        return self.session.request_json("POST", f"{_org_path(org)}/users", json=body, scope=(org, None))

    def add_team_user(self, org: str, team: str, email: str, name: str, roles: list[str]) -> dict:
        body = {"email": email, "name": name, "roleTypes": list(roles)}
        return self.session.request_json("POST", f"{_org_path(org, team)}/users", json=body, scope=(org, team))

    def remove_org_user(self, org: str, email: str) -> dict:
        return self.session.request_json("DELETE", f"{_org_path(org)}/users/{_segment(email)}", scope=(org, None))

    def remove_team_user(self, org: str, team: str, email: str) -> dict:
        return self.session.request_json("DELETE", f"{_org_path(org, team)}/users/{_segment(email)}",
                                         scope=(org, team))

    def add_team_user_roles(self, org: str, team: str, email: str, roles: list[str]) -> dict:
        return self._change_team_user_roles("PATCH", "add-role", org, team, email, roles)

    def remove_team_user_roles(self, org: str, team: str, email: str, roles: list[str]) -> dict:
        return self._change_team_user_roles("DELETE", "remove-role", org, team, email, roles)

    def _change_team_user_roles(self, method: str, action: str, org: str, team: str, email: str,
                                roles: list[str]) -> dict:
        path = f"/v3/orgs/{_segment(org)}/teams/{_segment(team)}/users/{_segment(email)}/{action}"
        return self.session.request_json(method, path, params=[("roles", role) for role in roles], scope=(org, team))

    # -- personal keys ------------------------------------------------------------------------------------

    def create_personal_key(self, name: str, expiry_days: int) -> dict:
        return self.session.request_json("POST", "/v3/keys", json={"name": name, "expiryDays": int(expiry_days)})

    def list_personal_keys(self) -> dict:
        return self.session.request_json("GET", "/v3/keys")

    def delete_personal_key(self, key_id: str | int) -> dict:
        return self.session.request_json("DELETE", f"/v3/keys/{_segment(str(key_id))}")

    # -- health -------------------------------------------------------------------------------------------

    def get_health(self) -> dict:
        return self.session.request_json("GET", "/health", authenticate=False)

    def check_container_registry(self) -> int:
        """HTTP status of the OCI base `GET /v2/`: 200 or 401 both mean the registry answers."""
        return self.session.request("GET", "/v2/", authenticate=False, accept_statuses=(401,)).status_code

    def search_models(self, pattern: str = "*", page: int = 0, page_size: int = 1) -> dict:
        params = {"q": model_search_query(pattern, page, page_size)}
        return self.session.request_json("GET", "/v2/search/catalog/resources/MODEL", params=params, scope=UNSCOPED)


def connect(base_url: str, api_key: str | None = None, *, org: str | None = None, team: str | None = None,
            token_cache_path: Path | None = None, debug_log: Callable[[str], None] | None = None) -> RegistryApi:
    """A `RegistryApi` on a new session; close it when done."""
    session = Session(base_url, api_key, org=org, team=team, token_cache=TokenCache(token_cache_path),
                      debug_log=debug_log)
    return RegistryApi(session)
