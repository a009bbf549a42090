"""A small client of the OCI distribution API (v1.1): blobs, uploads, manifests, tags and the catalog.

Every request carries the scope it needs (`repository:<name>:pull[,push]`, `:delete`, `registry:catalog:*`), and
`RegistryAuth` turns that into a token; a 401 is answered once by refreshing the token and sending again. Errors
become the typed `RegistryError`s of errors.py, with messages that name the repository and what was refused.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote, urljoin

import httpx

from ..errors import ForbiddenError, NotFoundError, RegistryError, UnauthorizedError
from .http import USER_AGENT, connection_failed, error_from_response, parse_error_body
from .oci_auth import RegistryAuth, Scopes, repository_scope
from .oci_media import ACCEPT_MANIFESTS, digest_of

TIMEOUT = httpx.Timeout(300.0, connect=10.0)
TAGS_PAGE_SIZE = 1000
_LINK_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_ACTION_WORDS = {"pull": "pull from", "push": "push to", "delete": "delete from"}


def pull_scope(repository: str) -> Scopes:
    return (repository_scope(repository, "pull"),)


def push_scope(repository: str, mount_from: str | None = None) -> Scopes:
    extra = (repository_scope(mount_from, "pull"),) if mount_from and mount_from != repository else ()
    return (repository_scope(repository, "pull,push"),) + extra


def delete_scope(repository: str) -> Scopes:
    return (repository_scope(repository, "delete"),)


CATALOG_SCOPE: Scopes = ("registry:catalog:*",)


def name_path(repository: str) -> str:
    return "/v2/" + "/".join(quote(part, safe="") for part in repository.split("/"))


class OciClient:
    """Requests to one registry (the configured API server); safe to share between threads."""

    def __init__(self, base_url: str, api_key: str | None = None, *, workers: int = 8,
                 debug_log: Callable[[str], None] | None = None, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        limits = httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers * 2)
        self._client = httpx.Client(timeout=TIMEOUT, limits=limits, follow_redirects=True, transport=transport,
                                    headers={"User-Agent": USER_AGENT})
        self.auth = RegistryAuth(self._client, self.base_url, api_key, debug_log)
        self._debug_log = debug_log

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OciClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def url(self, path_or_location: str) -> str:
        return urljoin(self.base_url + "/", path_or_location)

    # -- sending ------------------------------------------------------------------------------------------------

    def request(self, method: str, url: str, scopes: Scopes, *, ok: tuple[int, ...] = (200,),
                content: Callable[[], Iterable[bytes] | bytes] | None = None, headers: dict | None = None,
                **kwargs) -> httpx.Response:
        """Send with auth; `content` is a factory so a body can be sent again after a token refresh."""
        response = self._send(method, url, scopes, content, headers, kwargs)
        if response.status_code == 401 and self.auth.refresh_after(response, scopes):
            response = self._send(method, url, scopes, content, headers, kwargs)
        if response.status_code not in ok:
            raise self.error(response, scopes)
        return response

    @contextlib.contextmanager
    def stream(self, method: str, url: str, scopes: Scopes, *, ok: tuple[int, ...] = (200,),
               headers: dict | None = None) -> Iterator[httpx.Response]:
        """A streaming response (closed on exit); a 401 is answered once by refreshing the token."""
        for attempt in (1, 2):
            with self._guard():
                request = self._client.build_request(method, self.url(url),
                                                     headers={**self.auth.headers(scopes), **(headers or {})})
                response = self._client.send(request, stream=True)
            try:
                self._log(response)
                if response.status_code == 401 and attempt == 1 and self.auth.refresh_after(response, scopes):
                    continue
                if response.status_code not in ok:
                    response.read()
                    raise self.error(response, scopes)
                yield response
                return
            finally:
                response.close()

    def _send(self, method: str, url: str, scopes: Scopes, content, headers: dict | None,
              kwargs: dict) -> httpx.Response:
        with self._guard():
            all_headers = {**self.auth.headers(scopes), **(headers or {})}
            body = content() if content else None
            response = self._client.request(method, self.url(url), headers=all_headers, content=body, **kwargs)
        self._log(response)
        return response

    @contextlib.contextmanager
    def _guard(self):
        """Transport failures become one ConnectionFailedError naming the registry."""
        try:
            yield
        except httpx.TransportError as exc:
            raise connection_failed(self.base_url, exc) from exc

    def _log(self, response: httpx.Response) -> None:
        if self._debug_log:
            request = response.request
            self._debug_log(f"{request.method} {request.url} -> {response.status_code}")

    def error(self, response: httpx.Response, scopes: Scopes) -> RegistryError:
        """The typed error of a failed response; 401/403 name the repository and the refused action."""
        if response.status_code in (401, 403):
            return access_error(response, scopes)
        return error_from_response(response)

    # -- base, catalog, tags --------------------------------------------------------------------------------

    def ping(self) -> int:
        return self.request("GET", "/v2/", (), ok=(200, 401)).status_code

    def catalog(self, page_size: int = TAGS_PAGE_SIZE) -> Iterator[str]:
        yield from self._paged("/v2/_catalog", "repositories", CATALOG_SCOPE, page_size)

    def list_tags(self, repository: str, page_size: int = TAGS_PAGE_SIZE) -> Iterator[str]:
        with not_found_as(f"Image repository '{repository}' not found."):
            yield from self._paged(f"{name_path(repository)}/tags/list", "tags", pull_scope(repository), page_size)

    def _paged(self, path: str, key: str, scopes: Scopes, page_size: int) -> Iterator[str]:
        """Follow `Link: <...>; rel="next"`, or `last=` of the final item when the server sends no Link."""
        url, params = path, {"n": page_size}
        while True:
            response = self.request("GET", url, scopes, params=params)
            items = (response.json() or {}).get(key) or []
            yield from items
            next_url = next_link(response.headers.get("Link"))
            if next_url:
                url, params = next_url, None
            elif len(items) >= page_size:
                url, params = path, {"n": page_size, "last": items[-1]}
            else:
                return

    # -- manifests ------------------------------------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest); a digest reference is checked against the bytes received."""
        with not_found_as(f"Image '{image_name(repository, reference)}' not found."):
            response = self.request("GET", f"{name_path(repository)}/manifests/{reference}", pull_scope(repository),
                                    headers={"Accept": ACCEPT_MANIFESTS})
        data = response.content
        algorithm = reference.partition(":")[0] if ":" in reference else "sha256"
        digest = digest_of(data, algorithm)
        if ":" in reference and digest != reference:
            raise NotFoundError(f"The registry sent a manifest for '{repository}@{reference}' whose digest is "
                                f"{digest}.")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return data, media_type, digest

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The manifest's digest (`Docker-Content-Digest`), or None when the tag or digest does not exist."""
        response = self.request("HEAD", f"{name_path(repository)}/manifests/{reference}", pull_scope(repository),
                                ok=(200, 404), headers={"Accept": ACCEPT_MANIFESTS})
        if response.status_code == 404:
            return None
        return response.headers.get("Docker-Content-Digest") or (reference if ":" in reference else None)

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        response = self.request("PUT", f"{name_path(repository)}/manifests/{reference}", push_scope(repository),
                                ok=(200, 201, 202), content=lambda: data, headers={"Content-Type": media_type})
        return response.headers.get("Docker-Content-Digest") or digest_of(data)

    def delete_manifest(self, repository: str, reference: str) -> None:
        with not_found_as(f"Image '{image_name(repository, reference)}' not found."):
            self.request("DELETE", f"{name_path(repository)}/manifests/{reference}", delete_scope(repository),
                         ok=(200, 202, 204))

    # -- blobs ----------------------------------------------------------------------------------------------

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size of a blob the repository holds, or None when it has none with that digest."""
        response = self.request("HEAD", f"{name_path(repository)}/blobs/{digest}", pull_scope(repository),
                                ok=(200, 404))
        if response.status_code == 404:
            return None
        return int(response.headers.get("Content-Length") or 0)

    def open_blob(self, repository: str, digest: str, start: int = 0):
        """A streaming response of the blob from byte `start` (206 when the server honours the Range)."""
        headers = {"Range": f"bytes={start}-"} if start else None
        return self.stream("GET", f"{name_path(repository)}/blobs/{digest}", pull_scope(repository), ok=(200, 206),
                           headers=headers)

    def delete_blob(self, repository: str, digest: str) -> None:
        self.request("DELETE", f"{name_path(repository)}/blobs/{digest}", delete_scope(repository),
                     ok=(200, 202, 204))


def image_name(repository: str, reference: str) -> str:
    return f"{repository}{'@' if ':' in reference else ':'}{reference}"


@contextlib.contextmanager
def not_found_as(message: str):
    """Any 404 (MANIFEST_UNKNOWN, NAME_UNKNOWN, ...) inside becomes a NotFoundError with this message."""
    try:
        yield
    except RegistryError as err:
        if err.status != 404:
            raise
        raise NotFoundError(message) from None


def next_link(header: str | None) -> str | None:
    match = _LINK_NEXT_RE.search(header or "")
    return match.group(1) if match else None


def scope_action(scopes: Scopes) -> tuple[str, str]:
    """(repository, the main action) of the first repository scope, for error messages."""
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        if kind == "repository":
            repository, _, actions = rest.rpartition(":")
            return repository, "push" if "push" in actions else actions.split(",")[0]
    return "", "pull"


def access_error(response: httpx.Response, scopes: Scopes) -> RegistryError:
    repository, action = scope_action(scopes)
    _, detail = parse_error_body(response)
    words = _ACTION_WORDS.get(action, action)
    if not repository:
        return (UnauthorizedError if response.status_code == 401 else ForbiddenError)(detail or None)
    if response.status_code == 401:
        return UnauthorizedError(f"Not authorized to {words} '{repository}': configure a valid API key with "
                                 "'ngc config set' or NGC_CLI_API_KEY.")
    needed = {"pull": "view and download images", "push": "upload images", "delete": "delete images"}.get(action,
                                                                                                         action)
    return ForbiddenError(f"Access denied: you may not {words} '{repository}'; this needs a role that can {needed} "
                          f"in org '{repository.split('/')[0]}'.")
