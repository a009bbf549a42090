"""Models and resources over the NGC API (PROTOCOL.md §4.3–4.4, §5.2), with bytes through signed storage URLs."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlsplit

import pytest

from .conftest import ORG


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def local(url: str) -> str:
    """A URL of the server as the test client calls it; an object store's presigned URL as it is."""
    parts = urlsplit(url)
    if "/_storage/" not in parts.path:
        return url
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Flow:
    """The official client's upload sequence, step by step."""

    def __init__(self, registry, key, kind="models", space=f"org/{ORG}"):
        self.r, self.key, self.kind, self.space = registry, key, kind, space

    def call(self, method, path, **kw):
        return self.r.call(method, f"/v2/{self.space}{path}", self.key, **kw)

    def create(self, name, **meta):
        response = self.call("POST", f"/{self.kind}", json={"name": name, "application": "OTHER",
                                                             "framework": "PyTorch", **meta})
        assert response.status_code == 200, response.text
        return response.json()

    def upload(self, name, version, files: dict[str, bytes], **meta):
        response = self.call("POST", f"/{self.kind}/{name}/versions", json={"versionId": version, **meta})
        assert response.status_code == 200, response.text
        hashes = [{"sha256": b64sha(data)} for data in files.values()]
        exists = self.call("POST", f"/{self.kind}/{name}/files?page-size=100", json={"files": hashes}).json()
        present = {e["sha256"] for e in exists["files"] if e["exists"]}
        for path, data in files.items():
            if b64sha(data) not in present:
                self.send_file(name, version, path, data)
        commit = [{"commitType": "ADDITION", "filePath": p, "sha256": b64sha(d)} for p, d in files.items()]
        body = {"name": name, "artifactType": self.kind, "version": version, "files": commit, "baseVersion": None}
        assert self.call("POST", "/files/commit?upload-pending=True", json=body).status_code == 200
        done = self.call("PATCH", f"/{self.kind}/{name}/versions/{version}", json={"status": "UPLOAD_COMPLETE"})
        assert done.status_code == 200, done.text
        return present

    def send_file(self, name, version, path, data):
        body = {"name": name, "version": version, "artifactType": self.kind, "filePath": path, "size": len(data),
                "sha256": b64sha(data)}
        started = self.call("POST", "/files/multipart", json=body).json()
        part = started["partSize"]
        for i, url in enumerate(started["urls"]):
            put = self.r.client.put(local(url), content=data[i * part:(i + 1) * part])
            assert put.status_code == 200, put.text
        done = self.call("PUT", "/files/multipart", json={**body, "uploadID": started["uploadID"]})
        assert done.status_code == 200, done.text


@pytest.fixture
def flow(registry):
    return Flow(registry, registry.admin_key)


FILES = {"a.txt": b"alpha file\n", "sub/b.bin": bytes(range(256)) * 20, "empty": b""}


def test_full_upload_and_download(registry, flow):
    flow.create("probemodel", precision="FP16", shortDescription="short", labels=["probe"])
    assert flow.upload("probemodel", "1", FILES) == set()
    model = flow.call("GET", "/models/probemodel?resolve-labels=false").json()["model"]
    assert model["latestVersionIdStr"] == "1" and model["labels"] == ["probe"] and model["framework"] == "PyTorch"
    assert model["latestVersionSizeInBytes"] == sum(len(d) for d in FILES.values())
    version = flow.call("GET", "/models/probemodel/versions/1").json()["modelVersion"]
    assert version["status"] == "UPLOAD_COMPLETE" and version["totalFileCount"] == 3
    listed = flow.call("GET", "/models/probemodel/versions/1/files?page-size=1000").json()["modelFiles"]
    assert {f["path"]: f["sizeInBytes"] for f in listed} == {p: len(d) for p, d in FILES.items()}
    urls = flow.call("GET", "/models/probemodel/1/files").json()
    for path, url in zip(urls["filepath"], urls["urls"]):
        assert registry.client.get(local(url)).content == FILES[path]


def test_sha256_in_the_protocol_example(flow):
    assert b64sha(b"alpha file\n") == "3r0pJB0P8RTvX1kUBj+nSruXp3Vz4uHDIOrBaR8mRFo="


def test_ranged_get_and_empty_file(registry, flow):
    flow.create("m")
    flow.upload("m", "1", FILES)
    urls = flow.call("GET", "/models/m/1/files?path=sub/b.bin").json()["urls"]
    ranged = registry.client.get(local(urls[0]), headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == FILES["sub/b.bin"][10:20]
    empty = flow.call("GET", "/models/m/1/files?path=empty").json()["urls"][0]
    response = registry.client.get(local(empty), headers={"Range": "bytes=0--1"})
    assert response.status_code == 200 and response.content == b""


def test_second_identical_version_sends_nothing(registry, flow):
    flow.create("m")
    flow.upload("m", "1", FILES)
    assert flow.upload("m", "2", FILES) == {b64sha(d) for d in FILES.values()}


@pytest.mark.filesystem_store  # small parts: S3's are at least 5 MiB (tests/e2e/test_s3.py: parts on Swift)
def test_multipart_parts_and_resume(registry, flow, monkeypatch):
    registry.client.app.state.settings = type(registry.client.app.state.settings)(
        data_dir=registry.client.app.state.settings.data_dir, part_size=100)
    flow.create("m")
    data = bytes(range(256)) * 2  # 512 bytes: 6 parts of 100
    flow.call("POST", "/models/m/versions", json={"versionId": "1"})
    body = {"name": "m", "version": "1", "artifactType": "models", "filePath": "w.bin", "size": len(data),
            "sha256": b64sha(data)}
    started = flow.call("POST", "/files/multipart", json=body).json()
    assert len(started["urls"]) == 6
    registry.client.put(local(started["urls"][0]), content=data[:100])
    incomplete = flow.call("PUT", "/files/multipart", json={**body, "uploadID": started["uploadID"]})
    assert incomplete.status_code == 400 and "missing parts" in incomplete.text
    resumed = flow.call("POST", "/files/multipart",
                        json={**body, "uploadID": started["uploadID"], "partNumberList": [2, 3, 4, 5, 6]}).json()
    assert resumed["uploadID"] == started["uploadID"] and len(resumed["urls"]) == 5
    for number, url in zip(range(2, 7), resumed["urls"]):
        registry.client.put(local(url), content=data[(number - 1) * 100:number * 100])
    assert flow.call("PUT", "/files/multipart", json={**body, "uploadID": started["uploadID"]}).status_code == 200


@pytest.mark.filesystem_store  # our part URLs check the size; S3 takes any (the digest check refuses it later)
def test_wrong_part_size_and_wrong_digest_are_refused(registry, flow):
    flow.create("m")
    flow.call("POST", "/models/m/versions", json={"versionId": "1"})
    body = {"name": "m", "version": "1", "artifactType": "models", "filePath": "x", "size": 4, "sha256": b64sha(b"good")}
    started = flow.call("POST", "/files/multipart", json=body).json()
    assert registry.client.put(local(started["urls"][0]), content=b"toolong").status_code == 400
    assert registry.client.put(local(started["urls"][0]), content=b"evil").status_code == 200
    done = flow.call("PUT", "/files/multipart", json={**body, "uploadID": started["uploadID"]})
    assert done.status_code == 409
    commit = {"name": "m", "version": "1", "artifactType": "models",
              "files": [{"filePath": "x", "sha256": b64sha(b"evil")}]}
    assert flow.call("POST", "/files/commit", json=commit).status_code == 400


def test_tampered_and_wrong_operation_urls_are_403(registry, flow):
    flow.create("m")
    flow.upload("m", "1", FILES)
    url = local(flow.call("GET", "/models/m/1/files?path=a.txt").json()["urls"][0])
    assert registry.client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 403
    assert registry.client.put(url, content=b"x").status_code == 403


def test_expired_url_is_403(registry, flow):
    from ngc_registry.server.auth import signed_urls

    token = signed_urls.sign(registry.client.app.state.storage_secret, "GET", {"d": "sha256:00", "n": "x", "s": 1}, -1)
    assert registry.client.get(f"/_storage/{token}").status_code == 403


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "a\x00b", "a\nb", "./a", ""])
def test_bad_paths_are_refused(flow, path):
    flow.create("m")
    flow.call("POST", "/models/m/versions", json={"versionId": "1"})
    body = {"name": "m", "version": "1", "artifactType": "models", "filePath": path, "size": 1}
    assert flow.call("POST", "/files/multipart", json=body).status_code == 400


def test_upload_onto_complete_version_is_409(flow):
    flow.create("m")
    flow.upload("m", "1", FILES)
    assert flow.call("POST", "/models/m/versions", json={"versionId": "1"}).status_code == 409


def test_download_of_pending_version_is_refused(flow):
    flow.create("m")
    flow.call("POST", "/models/m/versions", json={"versionId": "1"})
    response = flow.call("GET", "/models/m/1/files")
    assert response.status_code == 400 and "UPLOAD_COMPLETE" in response.text


def test_metrics_limits(flow):
    flow.create("m")
    table = {"name": "t", "attributes": [{"key": "k", "value": "v"}]}
    assert flow.call("POST", "/models/m/versions", json={"versionId": "1", "customMetrics": [table] * 4}).status_code == 400
    big = {"name": "t", "attributes": [{"key": str(i), "value": "v"} for i in range(13)]}
    assert flow.call("POST", "/models/m/versions", json={"versionId": "2", "customMetrics": [big]}).status_code == 400
    assert flow.call("POST", "/models/m/versions", json={"versionId": "3", "customMetrics": [table] * 3}).status_code == 200


def test_resources_use_recipe_keys(registry):
    flow = Flow(registry, registry.admin_key, kind="resources")
    created = flow.create("script", trainingFramework="TensorFlow", quickStartGuide="# QSG")
    assert created["recipe"]["trainingFramework"] == "TensorFlow" and created["recipe"]["quickStartGuide"] == "# QSG"
    flow.upload("script", "v1", {"run.sh": b"echo hi\n"}, releaseNotes="notes")
    got = flow.call("GET", "/resources/script/versions/v1").json()
    assert got["recipeVersion"]["releaseNotes"] == "notes" and got["recipe"]["latestVersionIdStr"] == "v1"
    assert flow.call("GET", "/resources/script/versions/v1/files").json()["recipeFiles"][0]["path"] == "run.sh"


def test_update_and_delete(registry, flow):
    flow.create("m")
    flow.upload("m", "1", FILES)
    flow.call("PATCH", "/models/m", json={"displayName": "Shiny"})
    flow.call("PATCH", "/models/m/versions/1", json={"accuracyReached": 0.9, "memoryFootprint": "16GB"})
    assert flow.call("GET", "/models/m").json()["model"]["displayName"] == "Shiny"
    assert flow.call("GET", "/models/m/versions/1").json()["modelVersion"]["memoryFootprint"] == "16GB"
    assert flow.call("DELETE", "/models/m/versions/1").status_code == 200
    assert flow.call("GET", "/models/m").json()["model"]["latestVersionIdStr"] is None
    assert flow.call("DELETE", "/models/m").status_code == 200
    assert flow.call("GET", "/models/m").status_code == 404


def test_deleting_a_version_keeps_bytes_another_uses(registry, flow):
    flow.create("m")
    flow.upload("m", "1", FILES)
    flow.upload("m", "2", FILES)
    flow.call("DELETE", "/models/m/versions/1")
    url = flow.call("GET", "/models/m/2/files?path=a.txt").json()["urls"][0]
    assert registry.client.get(local(url)).content == FILES["a.txt"]


def _search(registry, key, url, pattern="*"):
    q = json.dumps({"query": f"resourceId:{pattern}", "page": 0, "pageSize": 100})
    body = registry.call("GET", url, key, params={"q": q}).json()
    return [r["resourceId"] for r in body["results"][0]["resources"]]


def test_search_globs_and_visibility(registry, flow):
    registry.add_team("team-a")
    registry.add_team("team-b")
    Flow(registry, registry.admin_key, space=f"org/{ORG}/team/team-a").create("alpha")
    Flow(registry, registry.admin_key, space=f"org/{ORG}/team/team-b").create("beta")
    flow.create("gamma")
    admin = registry.admin_key
    assert _search(registry, admin, f"/v2/search/org/{ORG}/resources/MODEL") == [
        f"{ORG}/gamma", f"{ORG}/team-a/alpha", f"{ORG}/team-b/beta"]
    assert _search(registry, admin, f"/v2/search/org/{ORG}/resources/MODEL", f"{ORG}/team-a/*") == [f"{ORG}/team-a/alpha"]
    assert _search(registry, admin, f"/v2/search/org/{ORG}/resources/MODEL", "*/?eta") == [f"{ORG}/team-b/beta"]
    member = registry.add_user("a@example.com", ["REGISTRY_WRITE_USER_ROLE"], team="team-a")
    assert _search(registry, member, f"/v2/search/org/{ORG}/team/team-a/resources/MODEL") == [f"{ORG}/team-a/alpha"]
    assert _search(registry, member, f"/v2/search/org/{ORG}/resources/MODEL") == [f"{ORG}/team-a/alpha"]


def test_a_team_search_pages_the_team_and_the_org_space_above_it_in_order(registry, flow):
    registry.add_team("team-a")
    registry.add_team("team-b")
    for space, name in [("team/team-a", "alpha"), ("team/team-b", "beta"), ("", "gamma"), ("team/team-a", "zeta"),
                        ("", "omega")]:
        Flow(registry, registry.admin_key, space=f"org/{ORG}/{space}".rstrip("/")).create(name)
    url = f"/v2/search/org/{ORG}/team/team-a/resources/MODEL"
    everything = [f"{ORG}/gamma", f"{ORG}/omega", f"{ORG}/team-a/alpha", f"{ORG}/team-a/zeta"]
    assert _search(registry, registry.admin_key, url) == everything
    pages = []
    for page in range(3):
        q = json.dumps({"query": "resourceId:*", "page": page, "pageSize": 2})
        body = registry.call("GET", url, registry.admin_key, params={"q": q}).json()
        assert body["resultTotal"] == 4
        pages.append([r["resourceId"] for r in body["results"][0]["resources"]])
    assert pages == [everything[:2], everything[2:], []]
    assert _search(registry, registry.admin_key, url, "*/?eta") == [f"{ORG}/team-a/zeta"]


def test_public_models_are_visible_to_guests_only_when_public(registry, flow):
    flow.create("open")
    flow.upload("open", "1", FILES)
    guest_get = f"/v2/models/{ORG}/open"
    assert registry.client.get(guest_get).status_code == 401
    assert _search(registry, None, "/v2/search/catalog/resources/MODEL") == []
    assert flow.call("PATCH", "/models/open", json={"isPublic": True}).status_code == 200
    assert registry.client.get(guest_get).json()["model"]["isPublic"] is True
    assert _search(registry, None, "/v2/search/catalog/resources/MODEL") == [f"{ORG}/open"]
    urls = registry.client.get(f"/v2/models/org/{ORG}/open/1/files").json()
    assert registry.client.get(local(urls["urls"][0])).status_code == 200
    assert registry.client.get(f"/v2/models/{ORG}/open/versions/1/files").status_code == 200


def test_hash_check_does_not_reveal_other_orgs_content(registry, flow):
    from ngc_registry.server.services import orgs, users
    from ngc_registry.server.auth.policy import Role

    flow.create("secret")
    flow.upload("secret", "1", {"s.bin": b"top secret"})
    with registry.client.app.state.sessions.begin() as session:
        other = orgs.create_org(session, "other")
        outsider, _ = users.ensure_user(session, "out@example.com", "Out")
        users.grant_roles(session, outsider, other, None, [Role.WRITE_USER], None)
    key = registry.api_key_for("out@example.com")
    theirs = Flow(registry, key, space="org/other")
    theirs.create("copy")
    theirs.call("POST", "/models/copy/versions", json={"versionId": "1"})
    check = theirs.call("POST", "/models/copy/files", json={"files": [{"sha256": b64sha(b"top secret")}]}).json()
    assert check["files"][0]["exists"] is False
    commit = {"name": "copy", "version": "1", "artifactType": "models",
              "files": [{"filePath": "s.bin", "sha256": b64sha(b"top secret")}]}
    assert theirs.call("POST", "/files/commit", json=commit).status_code == 400


def test_model_card_fields_of_the_newer_protocol_are_kept(flow):
    created = flow.create("card", bias="none known", privacy="no PII", explainability="n/a", safetyAndSecurity="ok")
    assert created["model"]["bias"] == "none known" and created["model"]["safetyAndSecurity"] == "ok"
