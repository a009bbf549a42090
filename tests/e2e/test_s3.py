"""PostgreSQL + S3 (a real single-node Swift with s3api): the real `ngc` and skopeo against `ngc-registry serve
--storage s3://...`. Bytes go straight between the clients and Swift through presigned URLs (the server's log
shows no /_storage/ transfer), Swift refuses tampered and expired URLs, an OCI pull is a 307 to Swift, and
`ngc-registry gc` and `fsck` work on the bucket."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time

import httpx
import pytest

from ..postgres import postgres_url  # noqa: F401  (fixture)
from ..swift import swift  # noqa: F401  (fixture)
from .conftest import BIN, run, start_on_postgres_s3, start_server
from .ops_support import MB, Cli, need, ok, registry_at
from .test_models_transfers import sha256_of, write_random
from .test_oci_skopeo import Layout, Skopeo

pytestmark = pytest.mark.e2e

PART = 5 << 20  # S3's smallest part


@pytest.fixture(scope="module")
def s3_registry(tmp_path_factory, postgres_url, swift):  # noqa: F811
    need("skopeo", "skopeo")
    work = tmp_path_factory.mktemp("s3")
    server, bucket = start_on_postgres_s3(work / "data", postgres_url, swift, {"NGC_REGISTRY_PART_SIZE": str(PART)})
    options = [*server.admin_args, "--storage", f"s3://{bucket}/registry"]
    yield registry_at(server.url, server.admin_key), server, work, options, bucket
    server.stop()


def test_a_multipart_model_goes_straight_to_swift_and_back(s3_registry, swift):  # noqa: F811
    registry, server, work, _, _ = s3_registry
    files, cli = work / "model", Cli(registry, work / "ngc-home")
    write_random(files / "weights.bin", 2 * PART + 3 * MB + 7)  # three parts
    (files / "config.json").write_text('{"layers": 3}')
    ok(cli("registry", "model", "create", "nvidia/s3_model"))
    ok(cli("registry", "model", "upload-version", "--source", str(files), "nvidia/s3_model:1"))
    (work / "down").mkdir()
    ok(cli("registry", "model", "download-version", "--dest", str(work / "down"), "nvidia/s3_model:1"))
    for name in ("weights.bin", "config.json"):
        assert sha256_of(work / "down" / "s3_model_v1" / name) == sha256_of(files / name)
    log = server.log.read_text()
    assert "/_storage/" not in log and re.search(r'"PUT /v2/org/nvidia/files/multipart" 200', log), log
    urls = _download_urls(registry, "nvidia/s3_model:1")
    assert all(url.startswith(swift.endpoint + "/") and "X-Amz-Signature=" in url for url in urls)
    weights = next(url for url in urls if "weights.bin" in url)
    assert httpx.get(weights, headers={"Range": "bytes=0-0"}).status_code == 206
    assert httpx.get(weights.replace("X-Amz-Signature=", "X-Amz-Signature=f")).status_code == 403


def _download_urls(registry, target: str) -> list[str]:
    name, version = target.split(":")
    org, model = name.split("/")
    answer = httpx.get(f"{registry.url}/v2/org/{org}/models/{model}/{version}/files",
                       headers={"Authorization": f"Bearer {_token(registry)}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["urls"]


def _token(registry) -> str:
    answer = httpx.get(f"{registry.url}/token?service=ngc", auth=("$oauthtoken", registry.admin_key), timeout=30)
    return answer.json()["token"]


def test_an_expired_presigned_url_is_refused_by_swift(s3_registry, swift):  # noqa: F811
    registry, server, _, options, _ = s3_registry
    short = start_server(server.data_dir, registry.admin_key, *options,
                         env={**swift.env(), "NGC_REGISTRY_SIGNED_URL_TTL": "1"})
    try:
        with httpx.Client(base_url=short.url, auth=("$oauthtoken", registry.admin_key), timeout=30) as client:
            data = os.urandom(100)
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            assert client.post("/v2/nvidia/s3-expiry/blobs/uploads/", params={"digest": digest},
                               content=data).status_code == 201
            url = client.get(f"/v2/nvidia/s3-expiry/blobs/{digest}").headers["location"]
    finally:
        short.stop()
    assert url.startswith(swift.endpoint + "/") and "X-Amz-Expires=1&" in url
    time.sleep(2.1)
    assert httpx.get(url).status_code == 403


def test_skopeo_push_and_pull_redirects_to_swift(s3_registry, swift, tmp_path):  # noqa: F811
    registry, server, work, _, _ = s3_registry
    layout = Layout(tmp_path / "layout")
    manifest = layout.add_image(2)
    layout.tag(manifest, "v1")
    skopeo = Skopeo(registry, tmp_path)
    skopeo.push(layout, "v1", "nvidia/s3-image:v1")
    pulled = Layout(tmp_path / "pulled")
    skopeo.pull("nvidia/s3-image:v1", pulled.root, "back")
    assert pulled.tagged("back")["digest"] == manifest["digest"]
    for blob in (layout.root / "blobs" / "sha256").iterdir():
        assert hashlib.sha256((pulled.root / "blobs" / "sha256" / blob.name).read_bytes()).hexdigest() == blob.name
    assert re.search(r'"GET /v2/nvidia/s3-image/blobs/sha256:[0-9a-f]{64}" 307', server.log.read_text())
    ready = httpx.get(f"{registry.url}/readyz", timeout=30)
    assert ready.status_code == 200 and ready.json()["checks"]["store"] == "ok", ready.text
    with httpx.Client(base_url=registry.url, auth=("$oauthtoken", registry.admin_key), timeout=30) as client:
        body = (layout.root / "blobs" / "sha256" / manifest["digest"].split(":")[1]).read_bytes()
        layer = json.loads(body)["layers"][0]["digest"]
        answer = client.get(f"/v2/nvidia/s3-image/blobs/{layer}")
        assert answer.status_code == 307 and answer.headers["location"].startswith(swift.endpoint + "/")


def test_a_chunked_upload_across_s3_parts(s3_registry):
    registry, _, _, _, _ = s3_registry
    blob = os.urandom(9 * MB + 17)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    with httpx.Client(base_url=registry.url, auth=("$oauthtoken", registry.admin_key), timeout=60) as client:
        location = client.post("/v2/nvidia/s3-chunked/blobs/uploads/").headers["Location"]
        for start in range(0, len(blob), 3 * MB):
            chunk = blob[start:start + 3 * MB]
            sent = client.patch(location, content=chunk, headers={"Content-Range": f"{start}-{start + len(chunk) - 1}"})
            assert sent.status_code == 202, sent.text
            location = sent.headers["Location"]
        assert client.put(location, params={"digest": "sha256:" + "0" * 64}).status_code == 400
        location = client.post("/v2/nvidia/s3-chunked/blobs/uploads/").headers["Location"]
        assert client.patch(location, content=blob).status_code == 202
        assert client.put(location, params={"digest": digest}).status_code == 201
        answer = client.get(f"/v2/nvidia/s3-chunked/blobs/{digest}", follow_redirects=True)
        assert answer.status_code == 200 and answer.content == blob


def test_gc_and_fsck_on_the_bucket(s3_registry, swift):  # noqa: F811
    registry, server, work, options, bucket = s3_registry
    orphan = os.urandom(1000)
    digest = "sha256:" + hashlib.sha256(orphan).hexdigest()
    with httpx.Client(base_url=registry.url, auth=("$oauthtoken", registry.admin_key), timeout=30) as client:
        assert client.post("/v2/nvidia/s3-orphan/blobs/uploads/", params={"digest": digest},
                           content=orphan).status_code == 201
        assert client.delete(f"/v2/nvidia/s3-orphan/blobs/{digest}").status_code == 202
        kept = os.urandom(1000)
        kept_digest = "sha256:" + hashlib.sha256(kept).hexdigest()
        assert client.post("/v2/nvidia/s3-kept/blobs/uploads/", params={"digest": kept_digest},
                           content=kept).status_code == 201
    env = {**os.environ, **swift.env()}
    def ops(*args):
        return run(str(BIN / "ngc-registry"), *args, "--data-dir", str(server.data_dir), *options, env=env)

    checked = ops("fsck")
    assert checked.returncode == 0 and "0 problems" in checked.stdout, checked.stdout + checked.stderr
    collected = ops("gc", "--grace", "0", "-v")
    assert collected.returncode == 0 and digest in collected.stdout, collected.stdout + collected.stderr
    keys = [o["Key"] for o in swift.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert not any(key.endswith(digest.split(":")[1]) for key in keys)
    assert all(key.startswith("registry/blobs/") for key in keys), keys  # no uploads or temp objects left
    victim = next(key for key in keys if key.endswith(kept_digest.split(":")[1]))
    original = swift.client().get_object(Bucket=bucket, Key=victim)["Body"].read()
    swift.client().put_object(Bucket=bucket, Key=victim, Body=b"bit rot")
    checked = ops("fsck")
    swift.client().put_object(Bucket=bucket, Key=victim, Body=original)
    assert checked.returncode == 1 and victim.rsplit("/", 1)[1] in checked.stdout, checked.stdout
    bad = run(str(BIN / "ngc-registry"), "fsck", "--data-dir", str(server.data_dir), options[0], options[1],
              "--storage", "s3://bucket/x", "--s3-endpoint-url", "http://127.0.0.1:9", env=env)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: The blob store s3://bucket/x") \
        and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_export_from_s3_and_import_into_another_bucket(s3_registry, swift, tmp_path):  # noqa: F811
    registry, server, work, options, _ = s3_registry
    env = {**os.environ, **swift.env()}
    archive = tmp_path / "backup.tar"
    done = run(str(BIN / "ngc-registry"), "export", "--data-dir", str(server.data_dir), *options, "--to",
               str(archive), env=env)
    assert done.returncode == 0, done.stderr
    target = ["--storage", f"s3://{swift.new_bucket()}/restored"]
    restored = tmp_path / "restored"
    done = run(str(BIN / "ngc-registry"), "import", "--data-dir", str(restored), *target, "--from", str(archive),
               env=env)
    assert done.returncode == 0, done.stderr
    checked = run(str(BIN / "ngc-registry"), "fsck", "--data-dir", str(restored), *target, env=env)
    assert checked.returncode == 0 and "0 problems" in checked.stdout, checked.stdout + checked.stderr


def test_a_tampered_upload_is_refused_and_publishes_nothing(s3_registry, swift, tmp_path):  # noqa: F811
    registry, _, _, _, bucket = s3_registry
    ok(Cli(registry, tmp_path / "ngc-home")("registry", "model", "create", "nvidia/s3_guarded"))
    headers, base = {"Authorization": f"Bearer {_token(registry)}"}, f"{registry.url}/v2/org/nvidia"
    assert httpx.post(f"{base}/models/s3_guarded/versions", json={"versionId": "tampered"},
                      headers=headers).status_code == 200
    meant, sent = os.urandom(1000), os.urandom(1000)
    body = {"name": "s3_guarded", "version": "tampered", "artifactType": "models", "filePath": "x.bin", "size": 1000,
            "sha256": base64.b64encode(hashlib.sha256(meant).digest()).decode()}
    start = httpx.post(f"{base}/files/multipart", headers=headers, json=body, timeout=30).json()
    assert start["urls"][0].startswith(swift.endpoint + "/")
    assert httpx.put(start["urls"][0], content=sent).status_code == 200
    done = httpx.put(f"{base}/files/multipart", headers=headers, json={**body, "uploadID": start["uploadID"]},
                     timeout=30)
    assert 400 <= done.status_code < 500 and "sha256" in done.text, done.text
    keys = [o["Key"] for o in swift.client().list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert not any(key.endswith(hashlib.sha256(sent).hexdigest()) for key in keys)
    assert not any(start["uploadID"] in key for key in keys)


def test_a_chunked_upload_continues_on_another_replica(s3_registry, swift):  # noqa: F811
    registry, server, _, options, _ = s3_registry
    other = start_server(server.data_dir, registry.admin_key, *options, env=swift.env())
    blob = os.urandom(10 * MB + 5)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    try:
        replicas = [httpx.Client(base_url=url, auth=("$oauthtoken", registry.admin_key), timeout=60)
                    for url in (registry.url, other.url)]
        location = replicas[0].post("/v2/nvidia/s3-replicas/blobs/uploads/").headers["Location"]
        for turn, start in enumerate(range(0, len(blob), 3 * MB)):  # chunks cross S3 parts on either replica
            chunk = blob[start:start + 3 * MB]
            sent = replicas[turn % 2].patch(location, content=chunk,
                                            headers={"Content-Range": f"{start}-{start + len(chunk) - 1}"})
            assert sent.status_code == 202, sent.text
            location = sent.headers["Location"]
        assert replicas[1].put(location, params={"digest": digest}).status_code == 201
        answer = replicas[0].get(f"/v2/nvidia/s3-replicas/blobs/{digest}", follow_redirects=True)
        assert answer.status_code == 200 and answer.content == blob
    finally:
        other.stop()
