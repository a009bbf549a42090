"""Operations endpoints: liveness, readiness (database and store), Prometheus metrics and their token."""

from __future__ import annotations

import dataclasses
import re
import shutil

import pytest

from ngc_registry.server.db.base import make_engine, make_sessionmaker

from .oci_support import Oci, repo
from .ops_support import model, store

pytestmark = pytest.mark.filesystem_store  # looks at the files of the store itself


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (labels matched as a subset, in any order)."""
    for line in text.splitlines():
        found = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if not found or found[1] != name:
            continue
        present = dict(re.findall(r'(\w+)="([^"]*)"', found[2] or ""))
        if all(present.get(key) == value for key, value in labels.items()):
            return float(found[3])
    raise AssertionError(f"no sample {name}{labels} in:\n{text}")


def test_healthz_and_readyz(registry):
    assert registry.client.get("/healthz").json() == {"status": "ok"}
    ready = registry.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "store": "ok"}}


def test_readyz_is_503_when_the_store_or_the_database_is_gone(registry, tmp_path):
    shutil.rmtree(store(registry).root / "tmp")
    response = registry.client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"] == {"database": "ok", "store": "unavailable"}
    (store(registry).root / "tmp").mkdir()
    state = registry.client.app.state
    working = state.sessions
    state.sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path}/no/such/dir/registry.db"))
    try:
        response = registry.client.get("/readyz")
    finally:
        state.sessions = working
    assert response.status_code == 503 and response.json()["checks"] == {"database": "unavailable", "store": "ok"}
    assert registry.client.get("/healthz").status_code == 200


def test_metrics_count_requests_bytes_and_storage_per_org(registry):
    model(registry, "m", "1", {"w.bin": b"w" * 5000})
    Oci(registry, registry.admin_key).push_image(repo("img"), "v1", [b"l" * 3000])
    registry.client.get("/v2/org/acme/no-such-thing")
    response = registry.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _metric(text, "ngc_registry_http_requests_total", method="PUT", route="/_storage/{token}",
                   status="200") == 1
    assert _metric(text, "ngc_registry_http_requests_total", route="/v2/{name:path}/manifests/{reference}",
                   method="PUT", status="201") == 1
    assert _metric(text, "ngc_registry_http_requests_total", route="unmatched", status="404") >= 1
    assert _metric(text, "ngc_registry_http_request_duration_seconds_count", method="PUT",
                   route="/_storage/{token}") == 1
    assert _metric(text, "ngc_registry_http_received_bytes_total", route="/_storage/{token}") == 5000
    assert _metric(text, "ngc_registry_http_sent_bytes_total", route="/token") > 0
    assert _metric(text, "ngc_registry_uploads_in_flight") == 0
    config_and_manifest = _metric(text, "ngc_registry_storage_used_bytes", org="acme") - 5000 - 3000
    assert 0 < config_and_manifest < 2000
    assert _metric(text, "ngc_registry_upload_sessions_open", protocol="oci") == 0
    assert _metric(text, "ngc_registry_blobs") == 4


def test_storage_figures_are_cached(registry):
    first = registry.client.get("/metrics").text
    model(registry, "m", "1", {"w.bin": b"w" * 5000})
    assert _metric(registry.client.get("/metrics").text, "ngc_registry_blobs") == _metric(first, "ngc_registry_blobs")


def test_a_metrics_token_is_required_once_set(registry):
    state = registry.client.app.state
    state.settings = dataclasses.replace(state.settings, metrics_token="s3cret")
    assert registry.client.get("/metrics").status_code == 401
    assert registry.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert registry.client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
