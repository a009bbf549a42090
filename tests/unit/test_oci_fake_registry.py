"""An in-memory OCI registry behind httpx.MockTransport, tiny generated images, and the client's auth against it.

The fake speaks the distribution API the way CNCF distribution does (bearer tokens from `/token`, `Range: 0-<end>`
on uploads, 416 for a chunk out of order, `Link` paging); other test modules import `FakeRegistry` and the image
builders from here.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
import uuid
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from ngc_registry.client.oci import OciClient
from ngc_registry.errors import ForbiddenError, InvalidApiKeyError, UnauthorizedError

BASE = "http://registry.test"
KEY = "test-key"
_PATH_RE = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>blobs/uploads|blobs|manifests|tags)(?:/(?P<rest>.*))?$")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeRegistry:
    def __init__(self, *, api_key: str = KEY, honor_range: bool = True, readonly_repos: tuple[str, ...] = ()):
        self.api_key = api_key
        self.honor_range = honor_range
        self.readonly_repos = readonly_repos
        self.blobs: dict[str, dict[str, bytes]] = {}
        self.manifests: dict[str, dict[str, tuple[bytes, str]]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.uploads: dict[str, tuple[str, bytearray]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_next: dict[str, int] = {}  # method -> how many of the next requests fail with 500
        self.tokens: dict[str, set[str]] = {}
        self.delete_by_tag = True

    def client(self, api_key: str | None = KEY, workers: int = 4) -> OciClient:
        return OciClient(BASE, api_key, workers=workers, transport=httpx.MockTransport(self.handle))

    # -- dispatch -------------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append((request.method, path))
        if self.fail_next.get(request.method):
            self.fail_next[request.method] -= 1
            return httpx.Response(500, json={"errors": [{"code": "UNKNOWN", "message": "injected"}]})
        if path == "/token":
            return self.token(request)
        if path == "/v2/":
            return self.ok_if_authorized(request)
        match = _PATH_RE.match(path)
        if not match:
            return self.error(404, "NAME_UNKNOWN", "no route")
        name, kind, rest = match["name"], match["kind"], match["rest"] or ""
        denied = self.check_access(request, name)
        if denied:
            return denied
        handler = {"blobs/uploads": self.uploads_route, "blobs": self.blobs_route, "manifests": self.manifests_route,
                   "tags": self.tags_route}[kind]
        return handler(request, name, rest)

    def error(self, status: int, code: str, message: str = "", headers=None) -> httpx.Response:
        return httpx.Response(status, json={"errors": [{"code": code, "message": message}]}, headers=headers)

    # -- auth -----------------------------------------------------------------------------------------------

    def challenge(self, scope: str = "") -> dict:
        value = f'Bearer realm="{BASE}/token",service="registry.test"' + (f',scope="{scope}"' if scope else "")
        return {"WWW-Authenticate": value}

    def token(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("Authorization", "")
        if auth:
            user, _, key = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
            if user != "$oauthtoken" or key != self.api_key:
                return httpx.Response(401, json={"detail": "bad key"})
        scopes = parse_qs(request.url.query.decode()).get("scope", [])
        token = uuid.uuid4().hex
        self.tokens[token] = set(scopes) | ({"auth"} if auth else set())
        return httpx.Response(200, json={"token": token, "expires_in": 300})

    def granted(self, request: httpx.Request) -> set[str]:
        return self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "), set())

    def ok_if_authorized(self, request: httpx.Request) -> httpx.Response:
        if "auth" not in self.granted(request):
            return self.error(401, "UNAUTHORIZED", "auth required", self.challenge())
        return httpx.Response(200, json={})

    def check_access(self, request: httpx.Request, name: str) -> httpx.Response | None:
        action = "pull" if request.method in ("GET", "HEAD") else "delete" if request.method == "DELETE" else "push"
        granted = [scope for scope in self.granted(request) if scope.startswith(f"repository:{name}:")]
        if not any(action in scope.rsplit(":", 1)[1].split(",") for scope in granted):
            return self.error(401, "UNAUTHORIZED", "token lacks scope", self.challenge(f"repository:{name}:{action}"))
        if action != "pull" and name in self.readonly_repos:
            return self.error(403, "DENIED", "read only")
        return None

    # -- blobs ----------------------------------------------------------------------------------------------

    def blobs_route(self, request: httpx.Request, name: str, digest: str) -> httpx.Response:
        data = self.blobs.get(name, {}).get(digest)
        if data is None:
            return self.error(404, "BLOB_UNKNOWN", digest)
        if request.method == "DELETE":
            del self.blobs[name][digest]
            return httpx.Response(202)
        headers = {"Docker-Content-Digest": digest, "Content-Length": str(len(data))}
        if request.method == "HEAD":
            return httpx.Response(200, headers=headers)
        wanted = request.headers.get("Range")
        if wanted and self.honor_range:
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            return httpx.Response(206, content=data[start:], headers={"Content-Range": f"bytes {start}-"})
        return httpx.Response(200, content=data)

    def uploads_route(self, request: httpx.Request, name: str, upload_id: str) -> httpx.Response:
        params = parse_qs(request.url.query.decode())
        if request.method == "POST":
            return self.start_upload(name, params)
        if upload_id not in self.uploads:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN", upload_id)
        _, buffer = self.uploads[upload_id]
        location = {"Location": f"/v2/{name}/blobs/uploads/{upload_id}"}
        if request.method == "GET":
            return httpx.Response(204, headers={**location, "Range": f"0-{max(len(buffer) - 1, 0)}"})
        if request.method == "PATCH":
            start = int((request.headers.get("Content-Range") or f"{len(buffer)}-").split("-")[0])
            if start != len(buffer):
                return self.error(416, "BLOB_UPLOAD_INVALID", "out of order")
            buffer += request.read()
            return httpx.Response(202, headers={**location, "Range": f"0-{len(buffer) - 1}"})
        if request.method == "PUT":
            buffer += request.read()
            return self.close_upload(name, upload_id, params["digest"][0])
        del self.uploads[upload_id]
        return httpx.Response(204)

    def start_upload(self, name: str, params: dict) -> httpx.Response:
        mount, source = params.get("mount", [None])[0], params.get("from", [None])[0]
        if mount and source and mount in self.blobs.get(source, {}):
            self.blobs.setdefault(name, {})[mount] = self.blobs[source][mount]
            return httpx.Response(201, headers={"Location": f"/v2/{name}/blobs/{mount}"})
        upload_id = uuid.uuid4().hex
        self.uploads[upload_id] = (name, bytearray())
        return httpx.Response(202, headers={"Location": f"/v2/{name}/blobs/uploads/{upload_id}?_state=x",
                                            "Range": "0-0"})

    def close_upload(self, name: str, upload_id: str, digest: str) -> httpx.Response:
        _, buffer = self.uploads.pop(upload_id)
        if sha256(bytes(buffer)) != digest:
            return self.error(400, "DIGEST_INVALID", "digest mismatch")
        self.blobs.setdefault(name, {})[digest] = bytes(buffer)
        return httpx.Response(201, headers={"Location": f"/v2/{name}/blobs/{digest}",
                                            "Docker-Content-Digest": digest})

    # -- manifests and tags ---------------------------------------------------------------------------------

    def manifests_route(self, request: httpx.Request, name: str, reference: str) -> httpx.Response:
        if request.method == "PUT":
            return self.put_manifest(request, name, reference)
        digest = reference if ":" in reference else self.tags.get(name, {}).get(reference)
        stored = self.manifests.get(name, {}).get(digest or "")
        if stored is None:
            return self.error(404, "MANIFEST_UNKNOWN", reference)
        if request.method == "DELETE":
            return self.delete_manifest(name, reference, digest)
        headers = {"Docker-Content-Digest": digest, "Content-Type": stored[1], "Content-Length": str(len(stored[0]))}
        return httpx.Response(200, content=b"" if request.method == "HEAD" else stored[0], headers=headers)

    def put_manifest(self, request: httpx.Request, name: str, reference: str) -> httpx.Response:
        data = request.read()
        body = json.loads(data)
        for child in body.get("manifests") or []:
            if child["digest"] not in self.manifests.get(name, {}):
                return self.error(400, "MANIFEST_BLOB_UNKNOWN", child["digest"])
        for blob in ([body["config"]] if "config" in body else []) + (body.get("layers") or []):
            if blob["digest"] not in self.blobs.get(name, {}):
                return self.error(400, "MANIFEST_BLOB_UNKNOWN", blob["digest"])
        digest = sha256(data)
        self.manifests.setdefault(name, {})[digest] = (data, request.headers["Content-Type"])
        if ":" not in reference:
            self.tags.setdefault(name, {})[reference] = digest
        return httpx.Response(201, headers={"Docker-Content-Digest": digest, "Location": f"/v2/{name}/manifests/"
                                                                                          f"{digest}"})

    def delete_manifest(self, name: str, reference: str, digest: str) -> httpx.Response:
        if ":" not in reference:
            if not self.delete_by_tag:
                return self.error(405, "UNSUPPORTED", "delete by digest")
            del self.tags[name][reference]
            return httpx.Response(202)
        del self.manifests[name][digest]
        self.tags[name] = {tag: d for tag, d in self.tags.get(name, {}).items() if d != digest}
        return httpx.Response(202)

    def tags_route(self, request: httpx.Request, name: str, rest: str) -> httpx.Response:
        if name not in self.tags:
            return self.error(404, "NAME_UNKNOWN", name)
        params = parse_qs(request.url.query.decode())
        tags = sorted(self.tags[name])
        if "last" in params:
            tags = [tag for tag in tags if tag > params["last"][0]]
        size = int(params.get("n", [len(tags) or 1])[0])
        page, more = tags[:size], len(tags) > size
        headers = {"Link": f'</v2/{name}/tags/list?n={size}&last={page[-1]}>; rel="next"'} if more else {}
        return httpx.Response(200, json={"name": name, "tags": page}, headers=headers)


# -- tiny images ------------------------------------------------------------------------------------------------


def layer_tar(files: dict[str, bytes], compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


def write_blob(root: Path, data: bytes) -> dict:
    digest = sha256(data)
    path = root / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def diff_id(layer: bytes) -> str:
    """The digest of the layer's uncompressed tar, as an image config lists it."""
    return sha256(gzip.decompress(layer) if layer[:2] == b"\x1f\x8b" else layer)


def image_manifest(root: Path, layers: list[bytes], arch: str = "amd64", media="application/vnd.oci.image.layer.v1"
                   ".tar+gzip") -> bytes:
    config = json.dumps({"architecture": arch, "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id(layer) for layer in layers]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **write_blob(root, config)},
                "layers": [{"mediaType": media, **write_blob(root, layer)} for layer in layers]}
    return json.dumps(manifest).encode()


def make_layout(root: Path, layers: list[bytes] | None = None, ref_name: str | None = "1.0",
                platforms: tuple[str, ...] = ()) -> str:
    """An OCI layout with one image (or an index of `platforms`); returns the digest index.json points at."""
    layers = layers if layers is not None else [layer_tar({"a.txt": b"alpha"}), layer_tar({"b.txt": b"beta" * 100})]
    if platforms:
        children = []
        for arch in platforms:
            data = image_manifest(root, layers + [layer_tar({"arch": arch.encode()})], arch)
            children.append({"mediaType": OCI_MANIFEST, **write_blob(root, data),
                             "platform": {"os": "linux", "architecture": arch}})
        top_data, media_type = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                           "manifests": children}).encode(), OCI_INDEX
    else:
        top_data, media_type = image_manifest(root, layers), OCI_MANIFEST
    top = {"mediaType": media_type, **write_blob(root, top_data)}
    if ref_name:
        top["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return top["digest"]


# -- the client's auth against the fake ------------------------------------------------------------------------


def test_token_is_fetched_per_scope_with_the_api_key_and_reused():
    registry = FakeRegistry()
    registry.blobs["o/img"] = {sha256(b"x"): b"x"}
    with registry.client() as client:
        assert client.blob_size("o/img", sha256(b"x")) == 1
        assert client.blob_size("o/img", sha256(b"y")) is None
    token_calls = [path for method, path in registry.requests if path == "/token"]
    assert len(token_calls) == 1 and registry.requests[0] == ("GET", "/v2/")


def test_a_401_with_a_new_scope_fetches_a_new_token_and_resends():
    registry = FakeRegistry()
    with registry.client() as client:
        client.auth.headers(("repository:o/img:pull",))
        registry.tokens.clear()  # every token the client holds is now unknown
        assert client.blob_size("o/img", sha256(b"x")) is None
    assert [path for _, path in registry.requests].count("/token") == 2


def test_wrong_api_key_is_reported_as_invalid():
    with FakeRegistry().client(api_key="wrong") as client, pytest.raises(InvalidApiKeyError):
        client.blob_size("o/img", sha256(b"x"))


def test_anonymous_token_without_pull_right_names_the_repository():
    registry = FakeRegistry()
    registry.check_access = lambda request, name: registry.error(401, "UNAUTHORIZED", "", registry.challenge())
    with registry.client(api_key=None) as client, pytest.raises(UnauthorizedError) as caught:
        client.get_manifest("o/private", "latest")
    assert "'o/private'" in caught.value.message and "pull" in caught.value.message


def test_forbidden_push_names_the_repository_and_the_right_needed():
    registry = FakeRegistry(readonly_repos=("o/ro",))
    with registry.client() as client, pytest.raises(ForbiddenError) as caught:
        client.put_manifest("o/ro", "1.0", b"{}", OCI_MANIFEST)
    assert "push to 'o/ro'" in caught.value.message and "upload images" in caught.value.message
