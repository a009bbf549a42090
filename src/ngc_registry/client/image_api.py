"""The NGC image API (PROTOCOL.md §4.5, I1–I4) and the CONTAINER search (§4.2): metadata, never bytes."""

from __future__ import annotations

from collections.abc import Iterator

from .http import UNSCOPED, Session
from .ngc_paths import search_query, space_path
from .ngc_paths import segment as _segment
from .oci_reference import ImageRef

CONTAINER = "CONTAINER"
IMAGES_PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 100


class ImageApi:
    """Calls about image repositories; each uses a token scoped to the repository's org and team."""

    def __init__(self, session: Session):
        self.session = session

    def _repo_path(self, ref: ImageRef) -> str:
        return f"{space_path(ref.org, ref.team)}/repos/{_segment(ref.name)}"

    def _json(self, path: str, ref: ImageRef, params=None) -> dict:
        return self.session.request_json("GET", path, params=params, scope=(ref.org, ref.team))

    # -- search ---------------------------------------------------------------------------------------------

    def search_urls(self, org: str | None, team: str | None) -> list[tuple[str, tuple]]:
        """catalog, org[/team] (when an org is known) and subscriber; only the catalog for guests."""
        suffix = f"/resources/{CONTAINER}"
        urls = [(f"/v2/search/catalog{suffix}", UNSCOPED)]
        if self.session.is_guest:
            return urls
        if org:
            urls.append((f"/v2/search{space_path(org, team)[3:]}{suffix}", (org, team)))
        return urls + [(f"/v2/search/subscriber/catalog{suffix}", UNSCOPED)]

    def search(self, pattern: str, org: str | None, team: str | None) -> Iterator[dict]:
        """Every repository the searches return, page after page, in the order the server gives them."""
        for path, scope in self.search_urls(org, team):
            page = 0
            while True:
                body = self.session.request_json("GET", path, params={"q": search_query(pattern, page, SEARCH_PAGE_SIZE)}, scope=scope)
                for group in body.get("results") or []:
                    if group.get("groupValue") == CONTAINER:
                        yield from group.get("resources") or []
                page += 1
                if page >= (body.get("resultPageTotal") or 0):
                    break

    # -- repositories and tags --------------------------------------------------------------------------------

    def get_repository(self, ref: ImageRef) -> dict:
        """I1: the repository, a top-level object (not wrapped)."""
        return self._json(self._repo_path(ref), ref, {"resolve-labels": "false"})

    def list_images(self, ref: ImageRef) -> list[dict]:
        """I2: every tag of the repository over all pages, newest first."""
        images: list[dict] = []
        page_number = 0
        while True:
            params = {"page-size": IMAGES_PAGE_SIZE, **({"page-number": page_number} if page_number else {})}
            body = self._json(f"{self._repo_path(ref)}/images", ref, params)
            page = body.get("images") or []
            images += page
            page_number += 1
            if not page or page_number >= ((body.get("paginationInfo") or {}).get("totalPages") or 0):
                break
        return sorted(images, key=lambda image: str(image.get("updatedDate") or ""), reverse=True)

    def delete_repository(self, ref: ImageRef) -> dict:
        """The repository with all its tags (our server's NGC API; NVIDIA's has no such call)."""
        return self.session.request_json("DELETE", self._repo_path(ref), scope=(ref.org, ref.team))

    def get_image(self, ref: ImageRef) -> dict:
        """I3: name, tag, architecture, schemaVersion of one tag."""
        return self._json(f"{self._repo_path(ref)}/images/{_segment(ref.tag)}", ref)

    def get_tag(self, ref: ImageRef) -> dict:
        """I4: size, digest, dates and architecture variants of one tag."""
        return self._json(f"{self._repo_path(ref)}/tags/{_segment(ref.tag)}", ref)
