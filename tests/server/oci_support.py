"""Helpers for the OCI server tests: a client speaking the distribution API with Basic `$oauthtoken:<key>`."""

from __future__ import annotations

import base64
import hashlib
import json

from .conftest import ORG

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def descriptor(data: bytes, media_type: str, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def basic(key: str, user: str = "$oauthtoken") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def config_blob(arch: str = "amd64") -> bytes:
    return json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()


def error_code(response) -> str:
    return response.json()["errors"][0]["code"]


class Oci:
    """One caller of the distribution API (`key` None: anonymous)."""

    def __init__(self, registry, key: str | None, headers: dict | None = None):
        self.client = registry.client
        self.auth = headers if headers is not None else (basic(key) if key else {})

    def call(self, method: str, path: str, headers: dict | None = None, **kwargs):
        return self.client.request(method, path, headers={**self.auth, **(headers or {})}, **kwargs)

    def push_blob(self, name: str, data: bytes) -> str:
        digest = sha256(data)
        response = self.call("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", content=data)
        assert response.status_code == 201, response.text
        return digest

    def put_manifest(self, name: str, reference: str, document: dict | bytes, media_type: str | None = None):
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        media_type = media_type or (document.get("mediaType") if isinstance(document, dict) else None) or OCI_MANIFEST
        return self.call("PUT", f"/v2/{name}/manifests/{reference}", content=body,
                         headers={"Content-Type": media_type})

    def image_manifest(self, name: str, layers: list[bytes], arch: str = "amd64", **fields) -> dict:
        """Push the config and layers; return the manifest document (not pushed)."""
        config = config_blob(arch)
        self.push_blob(name, config)
        for layer in layers:
            self.push_blob(name, layer)
        return {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(config, OCI_CONFIG),
                "layers": [descriptor(layer, OCI_LAYER) for layer in layers], **fields}

    def push_image(self, name: str, tag: str, layers: list[bytes] | None = None,
                   arch: str = "amd64") -> tuple[str, bytes]:
        document = self.image_manifest(name, layers if layers is not None else [b"layer-" + tag.encode()], arch)
        body = json.dumps(document).encode()
        response = self.put_manifest(name, tag, body, OCI_MANIFEST)
        assert response.status_code == 201, response.text
        return sha256(body), body


def repo(name: str) -> str:
    return f"{ORG}/{name}"
