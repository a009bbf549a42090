"""Per-org storage quotas: refused with 507 on NGC and OCI upload completion; content the org holds is free."""

from __future__ import annotations

import pytest

from ngc_registry.server.__main__ import main
from ngc_registry.server.ops_commands import parse_size

from .oci_support import Oci, repo, sha256
from .ops_support import Flow, b64sha, local, model

pytestmark = pytest.mark.filesystem_store  # looks at the files of the store itself

ORG_MESSAGE = "Org 'acme' storage quota of 10000 exceeded"


def _cli(registry, capsys, *args: str) -> tuple[int, str]:
    settings = registry.client.app.state.settings
    database = ["--database-url", settings.database_url] if settings.database_url else []
    code = main(["quota", args[0], "--data-dir", str(settings.data_dir), *database, *args[1:]])
    return code, capsys.readouterr().out


def _ngc_upload(flow: Flow, version: str, path: str, data: bytes):
    """Start, send and complete one file; returns the completion's response."""
    body = {"name": "m", "version": version, "artifactType": "models", "filePath": path, "size": len(data),
            "sha256": b64sha(data)}
    started = flow.call("POST", "/files/multipart", json=body).json()
    for url in started["urls"]:
        assert flow.r.client.put(local(url), content=data).status_code == 200
    return flow.call("PUT", "/files/multipart", json={**body, "uploadID": started["uploadID"]})


def test_ngc_upload_past_the_quota_is_507_and_known_content_is_free(registry, capsys):
    flow = model(registry, "m", "1", {"first.bin": b"1" * 6000})
    assert _cli(registry, capsys, "set", "acme", "10000") == (0, "Org 'acme' storage quota: 10000 bytes.\n")
    assert flow.call("POST", "/models/m/versions", json={"versionId": "2"}).status_code == 200
    refused = _ngc_upload(flow, "2", "second.bin", b"2" * 5000)
    assert refused.status_code == 507
    assert ORG_MESSAGE in refused.json()["requestStatus"]["statusDescription"]
    assert _ngc_upload(flow, "2", "copy.bin", b"1" * 6000).status_code == 200  # the org stores it already
    assert _ngc_upload(flow, "2", "small.bin", b"3" * 4000).status_code == 200  # exactly at the quota
    assert _cli(registry, capsys, "show", "acme") == (0, "acme: 10000 bytes used, quota 10000 bytes\n")
    assert _cli(registry, capsys, "set", "acme", "0")[0] == 0
    assert _ngc_upload(flow, "2", "second.bin", b"2" * 5000).status_code == 200


def test_oci_uploads_past_the_quota_are_507(registry, capsys):
    oci = Oci(registry, registry.admin_key)
    name = repo("img")
    oci.push_blob(name, b"a" * 8000)
    _cli(registry, capsys, "set", "acme", "10k")
    monolithic = oci.call("POST", f"/v2/{name}/blobs/uploads/?digest={sha256(b'b' * 3000)}", content=b"b" * 3000)
    assert monolithic.status_code == 507 and ORG_MESSAGE in monolithic.json()["errors"][0]["message"]
    location = oci.call("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    assert oci.call("PATCH", location, content=b"c" * 3000).status_code == 202
    chunked = oci.call("PUT", f"{location}?digest={sha256(b'c' * 3000)}")
    assert chunked.status_code == 507 and ORG_MESSAGE in chunked.text
    assert oci.push_blob(repo("other"), b"a" * 8000)  # the same content in another repository of the org: free
    assert oci.push_blob(name, b"d" * 2000)


def test_quota_needs_a_known_org_and_a_size(registry, capsys):
    settings = registry.client.app.state.settings
    database = ["--database-url", settings.database_url] if settings.database_url else []
    assert main(["quota", "set", "--data-dir", str(settings.data_dir), *database, "nope", "1"]) == 1
    assert "Org 'nope' not found" in capsys.readouterr().err
    assert main(["quota", "set", "--data-dir", str(settings.data_dir), *database, "acme", "lots"]) == 2


@pytest.mark.parametrize(("text", "size"), [("0", 0), ("1234", 1234), ("10k", 10_000), ("500G", 500 * 10**9),
                                            ("2Ti", 2 * 2**40), ("3 MiB", 3 * 2**20), ("7mb", 7_000_000)])
def test_sizes(text, size):
    assert parse_size(text) == size
