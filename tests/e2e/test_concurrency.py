"""Twenty clients at once against a real server process, on SQLite and on PostgreSQL: the same blob, the same model
version, the same file, the same tag, the same name; and changes to one model or repository from many clients.
No 5xx, no duplicate rows, one clear winner where only one may win, and no lost update."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from ..postgres import new_database, postgres_url  # noqa: F401  (fixture)
from .conftest import ADMIN_EMAIL, BIN, ORG, start_server

pytestmark = pytest.mark.e2e

CLIENTS = 20
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
META_FIELDS = ["description", "displayName", "shortDescription", "application", "framework", "precision",
               "builtBy", "publisher", "logo", "modelFormat"]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"concurrency-{request.param}") / "data"
    url = new_database(request.getfixturevalue("postgres_url")) if request.param == "postgresql" else ""
    database = ["--database-url", url] if url else []
    done = subprocess.run([str(BIN / "ngc-registry"), "init", "--data-dir", str(data_dir), "--org", ORG,
                           "--admin-email", ADMIN_EMAIL, *database], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    started = start_server(data_dir, done.stdout.strip().rsplit("API key: ", 1)[1], *database)
    yield started
    started.stop()


class Api:
    def __init__(self, server):
        self.url, self.auth = server.url, httpx.BasicAuth("$oauthtoken", server.admin_key)
        token = httpx.get(f"{self.url}/token", params={"service": "ngc"}, auth=self.auth).json()["token"]
        self.bearer = {"Authorization": f"Bearer {token}"}

    def ngc(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.url}/v2/org/{ORG}{path}", headers=self.bearer, timeout=60, **kwargs)

    def oci(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.url}/v2/{path}", auth=self.auth, timeout=60, **kwargs)


def at_once(work, count: int = CLIENTS) -> list:
    """`work(i)` from `count` threads released together; the results (responses) in order."""
    barrier, results = threading.Barrier(count), [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except httpx.HTTPError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def statuses(results: list) -> list[int]:
    assert not any(isinstance(r, Exception) for r in results), results
    codes = [r.status_code for r in results]
    assert all(code < 500 for code in codes), [r.text for r in results if r.status_code >= 500][:3]
    return codes


def test_the_same_blob_pushed_twenty_times(server):
    api, blob = Api(server), os.urandom(3 << 20)
    repository = f"{ORG}/same-blob"
    assert set(statuses(at_once(lambda i: api.oci("POST", f"{repository}/blobs/uploads/?digest={sha(blob)}",
                                                   content=blob)))) == {201}
    elsewhere = at_once(lambda i: api.oci("POST", f"{ORG}/copy-{i}/blobs/uploads/?digest={sha(blob)}", content=blob))
    assert set(statuses(elsewhere)) == {201}
    stored = list((Path(server.data_dir) / "blobs" / "sha256").rglob(sha(blob)[7:]))
    assert len(stored) == 1 and hashlib.sha256(stored[0].read_bytes()).hexdigest() == sha(blob)[7:]
    assert api.oci("GET", f"{repository}/blobs/{sha(blob)}").content == blob


def test_one_winner_for_the_same_name_version_and_team(server):
    api = Api(server)
    assert api.ngc("POST", "/models", json={"name": "contested"}).status_code == 200
    codes = statuses(at_once(lambda i: api.ngc("POST", "/models/contested/versions", json={"versionId": "1"})))
    assert sorted(codes) == [200] + [409] * (CLIENTS - 1)
    codes = statuses(at_once(lambda i: api.ngc("POST", "/models", json={"name": "raced"})))
    assert sorted(codes) == [200] + [409] * (CLIENTS - 1)
    codes = statuses(at_once(lambda i: api.ngc("POST", "/teams", json={"name": "raced-team"})))
    assert sorted(codes) == [200] + [409] * (CLIENTS - 1)
    versions = api.ngc("GET", "/models/contested/versions").json()["modelVersions"]
    assert [v["versionId"] for v in versions] == ["1"]


def _upload_file(api: Api, data: bytes) -> int:
    body = {"name": "shared", "version": "1", "artifactType": "models", "filePath": "w.bin", "size": len(data),
            "sha256": b64sha(data)}
    started = api.ngc("POST", "/files/multipart", json=body)
    if started.status_code != 200:
        return started.status_code
    put = httpx.put(started.json()["urls"][0], content=data, timeout=60)
    if put.status_code != 200:
        return put.status_code
    done = api.ngc("PUT", "/files/multipart", json={**body, "uploadID": started.json()["uploadID"]})
    if done.status_code != 200:
        return done.status_code
    commit = {"name": "shared", "version": "1", "files": [{"filePath": "w.bin", "sha256": b64sha(data)}]}
    return api.ngc("POST", "/files/commit", json=commit).status_code


def test_the_same_file_of_the_same_version_from_twenty_clients(server):
    api, data = Api(server), os.urandom(1 << 20)
    assert api.ngc("POST", "/models", json={"name": "shared"}).status_code == 200
    assert api.ngc("POST", "/models/shared/versions", json={"versionId": "1"}).status_code == 200
    codes = at_once(lambda i: _upload_file(api, data))
    assert all(code < 500 for code in codes) and codes.count(200) >= 1, codes
    completed = statuses(at_once(lambda i: api.ngc("PATCH", "/models/shared/versions/1",
                                                   json={"status": "UPLOAD_COMPLETE"})))
    assert 200 in completed
    version = api.ngc("GET", "/models/shared/versions/1").json()["modelVersion"]
    assert version["status"] == "UPLOAD_COMPLETE" and version["totalFileCount"] == 1
    assert version["totalSizeInBytes"] == len(data)
    files = api.ngc("GET", "/models/shared/versions/1/files").json()["modelFiles"]
    assert [f["path"] for f in files] == ["w.bin"]


def _manifest(api: Api, repository: str, index: int) -> bytes:
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": index}).encode()
    assert api.oci("POST", f"{repository}/blobs/uploads/?digest={sha(config)}", content=config).status_code == 201
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "layers": [],
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                                  "size": len(config)}}).encode()


def test_the_same_tag_pushed_by_twenty_clients(server):
    api, repository = Api(server), f"{ORG}/same-tag"
    bodies = [_manifest(api, repository, i) for i in range(CLIENTS)]
    codes = statuses(at_once(lambda i: api.oci("PUT", f"{repository}/manifests/latest", content=bodies[i],
                                               headers={"Content-Type": MANIFEST})))
    assert set(codes) == {201}
    assert api.oci("GET", f"{repository}/tags/list").json()["tags"] == ["latest"]
    current = api.oci("GET", f"{repository}/manifests/latest", headers={"Accept": MANIFEST})
    assert current.content in bodies and current.headers["docker-content-digest"] == sha(current.content)
    images = httpx.get(f"{server.url}/v2/org/{ORG}/repos/same-tag/images", headers=api.bearer).json()["images"]
    assert [image["tag"] for image in images] == ["latest"]


def test_changes_to_one_model_from_many_clients_are_all_kept(server):
    api = Api(server)
    assert api.ngc("POST", "/models", json={"name": "edited"}).status_code == 200
    values = {field: f"{field}-{uuid.uuid4().hex[:6]}" for field in META_FIELDS}
    statuses(at_once(lambda i: api.ngc("PATCH", "/models/edited", json={META_FIELDS[i]: values[META_FIELDS[i]]}),
                     count=len(META_FIELDS)))
    model = api.ngc("GET", "/models/edited").json()["model"]
    lost = {field: value for field, value in values.items() if model.get(field) != value}
    assert not lost, f"updates lost: {lost}"


def test_changes_to_one_repository_from_many_clients_are_all_kept(server):
    api, repository = Api(server), f"{ORG}/edited-repo"
    body = _manifest(api, repository, 0)
    assert api.oci("PUT", f"{repository}/manifests/1", content=body, headers={"Content-Type": MANIFEST}).is_success
    fields = ["displayName", "shortDescription", "description"]
    values = {field: f"{field}-{uuid.uuid4().hex[:6]}" for field in fields}
    statuses(at_once(lambda i: httpx.patch(f"{server.url}/v2/org/{ORG}/repos/edited-repo", headers=api.bearer,
                                           json={fields[i]: values[fields[i]]}, timeout=60), count=len(fields)))
    shown = httpx.get(f"{server.url}/v2/org/{ORG}/repos/edited-repo", headers=api.bearer).json()
    assert {field: shown[field] for field in fields} == values
