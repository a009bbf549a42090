"""Refuse, before any work, a request whose declared body is larger than the server parses.

JSON and form bodies (the NGC API, the web UI) are limited to `Settings.max_json_bytes`; FastAPI's per-router
`max_body_size` also counts the bytes of bodies sent without a Content-Length. Blob and part uploads
(`/_storage/`, the OCI API) stream to disk and are not limited here; OCI manifests have their own limit.
"""

from __future__ import annotations

from starlette.requests import Request

from ..errors import PayloadTooLargeError
from ..refs import is_ngc_path
from .rendering import render_error


def streams_body(path: str) -> bool:
    return path.startswith("/_storage/") or not is_ngc_path(path)


def declared_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not streams_body(scope["path"]):
            length = declared_length(scope)
            if length is not None and length > self.max_bytes:
                error = PayloadTooLargeError(f"Request body too large: at most {self.max_bytes} bytes.")
                return await render_error(Request(scope), error)(scope, receive, send)
        await self.app(scope, receive, send)
