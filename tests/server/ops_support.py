"""Helpers for the operations tests (gc, fsck, quotas): run the services on a test registry, age rows and files."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import update

from ngc_registry.server.db.tables import Blob, ImageUpload, Upload, utcnow
from ngc_registry.server.services import fsck, gc

from .oci_support import Oci, repo
from .test_models import FILES, Flow, b64sha, local  # noqa: F401  (re-exported for the tests)


def collect(registry, **options) -> gc.GcReport:
    state = registry.client.app.state
    return gc.collect(state.sessions, state.store, **{"grace": 0, **options})


def check(registry, sample: int | None = None) -> fsck.FsckReport:
    state = registry.client.app.state
    return fsck.check(state.sessions, state.store, sample)


def store(registry):
    return registry.client.app.state.store


def age_everything(registry, seconds: float = 7200) -> None:
    """Make every blob row, upload session and stored file look `seconds` old."""
    past = utcnow() - timedelta(seconds=seconds)
    with registry.client.app.state.sessions.begin() as session:
        session.execute(update(Blob).values(created_at=past, last_used_at=past))
        session.execute(update(Upload).values(created_at=past))
        session.execute(update(Upload).where(Upload.completed_at.is_not(None)).values(completed_at=past))
        session.execute(update(ImageUpload).values(created_at=past, updated_at=past))
    when = time.time() - seconds
    for path in store(registry).root.rglob("*"):
        os.utime(path, (when, when))


def stored_digests(registry) -> set[str]:
    return {blob.digest for blob in store(registry).list_blobs()}


def blob_rows(registry) -> dict[str, Blob]:
    with registry.client.app.state.sessions() as session:
        return {row.digest: row for row in session.query(Blob)}


def model(registry, name: str, version: str, files: dict[str, bytes], key: str | None = None) -> Flow:
    flow = Flow(registry, key or registry.admin_key)
    if flow.call("GET", f"/models/{name}").status_code == 404:
        flow.create(name)
    flow.upload(name, version, files)
    return flow


def image(registry, name: str, tag: str, layers: list[bytes]) -> str:
    digest, _ = Oci(registry, registry.admin_key).push_image(repo(name), tag, layers)
    return digest


def download(registry, flow: Flow, name: str, version: str) -> dict[str, bytes]:
    urls = flow.call("GET", f"/models/{name}/{version}/files").json()
    return {path: registry.client.get(local(url)).content for path, url in zip(urls["filepath"], urls["urls"])}
