"""The NGC API of models and resources (model-scripts), PROTOCOL.md §4.2–4.4: one method per endpoint.

Both kinds share every path and differ only in the path word and the response keys, described by `Kind`.
Guest sessions (no key) use the guest paths of §4.4 where NGC has them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

from ..errors import BadRequestError
from ..refs import Target
from .http import UNSCOPED, Session
from .ngc_paths import search_query, space_path
from .ngc_paths import segment as _segment
from .registry_kinds import MODELS, RESOURCES, Kind  # noqa: F401 (re-exported)

VERSIONS_PAGE_SIZE = 1000
FILES_PAGE_SIZE = 1000
HASH_CHECK_BATCH = 100
COMMIT_BATCH = 4000
SEARCH_PAGE_SIZE = 1000  # the most the server allows: listing 1,000 models is 2 requests, not 11


class ArtifactApi:
    """Calls for one kind; artifact calls use a token scoped to the target's org and team."""

    def __init__(self, session: Session, kind: Kind):
        self.session = session
        self.kind = kind

    # -- paths ----------------------------------------------------------------------------------------------

    def _artifact_path(self, target: Target) -> str:
        if self.session.is_guest:
            owner = "/".join(_segment(part) for part in (target.org, target.team) if part)
            return f"/v2/{self.kind.path}/{owner}/{_segment(target.name)}"
        return f"{space_path(target.org, target.team)}/{self.kind.path}/{_segment(target.name)}"

    def _version_path(self, target: Target) -> str:
        return f"{self._artifact_path(target)}/versions/{_segment(target.version)}"

    def _download_path(self, target: Target) -> str:
        name_version = f"{_segment(target.name)}/{_segment(target.version)}/files"
        if self.session.is_guest:
            return f"/v2/{self.kind.path}{space_path(target.org, target.team)[3:]}/{name_version}"
        return f"{space_path(target.org, target.team)}/{self.kind.path}/{name_version}"

    def _json(self, method: str, path: str, target: Target, **kwargs) -> dict:
        return self.session.request_json(method, path, scope=(target.org, target.team), **kwargs)

    # -- search ---------------------------------------------------------------------------------------------

    def search_urls(self, org: str | None, team: str | None) -> list[tuple[str, tuple]]:
        """The three search URLs of §4.2 (only the catalog for guests), each with the token scope it needs."""
        suffix = f"/resources/{self.kind.search_type}"
        urls = [(f"/v2/search/catalog{suffix}", UNSCOPED)]
        if self.session.is_guest:
            return urls
        if org:
            urls.append((f"/v2/search{space_path(org, team)[3:]}{suffix}", (org, team)))
        urls.append((f"/v2/search/subscriber/catalog{suffix}", UNSCOPED))
        return urls

    def search(self, pattern: str, org: str | None, team: str | None) -> Iterator[dict]:
        """Every resource of every search URL, page after page, in the order the server gives them. The first
        pages of the URLs are asked at once: a listing is mostly those first pages, each a server round trip."""
        urls = self.search_urls(org, team)
        for _, scope in urls:  # tokens first, one at a time: the token cache is shared
            self.session.auth_headers(scope)
        with ThreadPoolExecutor(len(urls)) as pool:
            first_pages = [pool.submit(self._search_page, path, scope, pattern, 0) for path, scope in urls]
            for (path, scope), first_page in zip(urls, first_pages, strict=True):
                body, page = first_page.result(), 0
                while True:
                    yield from self._resources(body)
                    page += 1
                    if page >= (body.get("resultPageTotal") or 0):
                        break
                    body = self._search_page(path, scope, pattern, page)

    def _search_page(self, path: str, scope: tuple, pattern: str, page: int) -> dict:
        return self.session.request_json("GET", path, params={"q": search_query(pattern, page, SEARCH_PAGE_SIZE)},
                                         scope=scope)

    def _resources(self, body: dict) -> Iterator[dict]:
        for group in body.get("results") or []:
            if group.get("groupValue") == self.kind.search_type:
                yield from group.get("resources") or []

    # -- artifacts ------------------------------------------------------------------------------------------

    def get_artifact(self, target: Target) -> dict:
        return self._json("GET", self._artifact_path(target), target, params={"resolve-labels": "false"})

    def create_artifact(self, target: Target, body: dict) -> dict:
        path = f"{space_path(target.org, target.team)}/{self.kind.path}"
        return self._json("POST", path, target, json={"name": target.name, **body})

    def update_artifact(self, target: Target, body: dict) -> dict:
        return self._json("PATCH", self._artifact_path(target), target, json=body)

    def delete_artifact(self, target: Target) -> dict:
        return self._json("DELETE", self._artifact_path(target), target)

    # -- versions -------------------------------------------------------------------------------------------

    def list_versions(self, target: Target) -> list[dict]:
        path = f"{self._artifact_path(target)}/versions"
        params = {"page-size": VERSIONS_PAGE_SIZE, "sort-order": "SEMVER_DESC"}
        return list(self._paged(path, target, params, self.kind.versions_key))

    def create_version(self, target: Target, body: dict) -> dict:
        path = f"{self._artifact_path(target)}/versions"
        return self._json("POST", path, target, json={"versionId": target.version, **body})

    def get_version(self, target: Target) -> dict:
        return self._json("GET", self._version_path(target), target)

    def update_version(self, target: Target, body: dict) -> dict:
        return self._json("PATCH", self._version_path(target), target, json=body)

    def delete_version(self, target: Target) -> dict:
        return self._json("DELETE", self._version_path(target), target)

    def list_files(self, target: Target) -> list[dict]:
        path = f"{self._version_path(target)}/files"
        return list(self._paged(path, target, {"page-size": FILES_PAGE_SIZE}, self.kind.files_key))

    def _paged(self, path: str, target: Target, params: dict, key: str) -> Iterator[dict]:
        page_number = 0
        while True:
            extra = {"page-number": page_number} if page_number else {}
            body = self._json("GET", path, target, params={**params, **extra})
            items = body.get(key) or []
            yield from items
            page_number += 1
            if not items or page_number >= ((body.get("paginationInfo") or {}).get("totalPages") or 0):
                return

    # -- downloads ------------------------------------------------------------------------------------------

    def download_urls(self, target: Target) -> dict[str, str]:
        """F2: path → storage URL for every file of the version, over all pages."""
        urls: dict[str, str] = {}
        page_number = received = 0
        while True:
            params = {"page-number": page_number} if page_number else None
            body = self.session.request_json("GET", self._download_path(target), params=params, scope=UNSCOPED)
            page = list(zip(body.get("filepath") or [], body.get("urls") or []))
            urls.update(page)
            received, page_number = received + len(page), page_number + 1
            if not page or received >= ((body.get("paginationInfo") or {}).get("totalResults") or 0):
                return urls

    def download_url(self, target: Target, path: str) -> str:
        """F3: the storage URL of one file."""
        body = self.session.request_json("GET", self._download_path(target), params={"path": path}, scope=UNSCOPED)
        return (body.get("urls") or [""])[0]

    # -- uploads (storage V2) -------------------------------------------------------------------------------

    def existing_hashes(self, target: Target, sha256s: list[str]) -> set[str]:
        """H1: the base64 sha256s the server already has for this artifact, asked in batches of 100."""
        found: set[str] = set()
        path = f"{self._artifact_path(target)}/files"
        for start in range(0, len(sha256s), HASH_CHECK_BATCH):
            batch = [{"sha256": digest} for digest in sha256s[start:start + HASH_CHECK_BATCH]]
            body = self._json("POST", path, target, params={"page-size": HASH_CHECK_BATCH}, json={"files": batch})
            found |= {entry.get("sha256") for entry in body.get("files") or [] if entry.get("exists")}
        return found

    def _file_body(self, target: Target, file_path: str) -> dict:
        return {"name": target.name, "version": target.version, "artifactType": self.kind.path, "filePath": file_path}

    def start_multipart(self, target: Target, file_path: str, size: int, sha256: str,
                        upload_id: str | None = None, part_numbers: list[int] | None = None) -> dict:
        """P1: `uploadID` and one part URL per (missing) part; our server adds `partSize`."""
        body = {**self._file_body(target, file_path), "size": size, "sha256": sha256}
        if upload_id:
            body.update(uploadID=upload_id, partNumberList=part_numbers or [])
        return self._json("POST", f"{space_path(target.org, target.team)}/files/multipart", target, json=body)

    def complete_multipart(self, target: Target, file_path: str, upload_id: str, sha256: str) -> dict:
        """P2; a 400 saying the upload is already complete counts as success (a rerun after a lost answer)."""
        body = {**self._file_body(target, file_path), "uploadID": upload_id, "sha256": sha256}
        try:
            return self._json("PUT", f"{space_path(target.org, target.team)}/files/multipart", target, json=body)
        except BadRequestError as err:
            if "already complete" in err.message:
                return {}
            raise

    def commit_files(self, target: Target, files: list[tuple[str, str]], base_version: str | None = None) -> None:
        """C1: add (path, sha256) pairs to the pending version, at most 4000 per call; with a base version, a first
        call without files copies that version's files (repeating it on a resumed run changes nothing)."""
        if base_version:
            self._commit_batch(target, [], base_version)
        for start in range(0, len(files), COMMIT_BATCH):
            self._commit_batch(target, [{"commitType": "ADDITION", "filePath": file_path, "sha256": digest}
                                        for file_path, digest in files[start:start + COMMIT_BATCH]], None)

    def _commit_batch(self, target: Target, entries: list[dict], base_version: str | None) -> None:
        body = {"name": target.name, "artifactType": self.kind.path, "version": target.version,
                "files": entries, "baseVersion": base_version}
        self.session.request_json("POST", f"{space_path(target.org, target.team)}/files/commit",
                                  params={"upload-pending": "True"}, json=body, scope=UNSCOPED)
