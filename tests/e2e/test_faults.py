"""Faults against real server processes: SIGKILL of the server in the middle of an NGC multipart upload, an OCI
chunked upload, a version commit and a manifest PUT, and of `ngc-registry gc` mid-sweep; afterwards nothing partial
is visible, `ngc-registry fsck` is clean and the client's rerun ends with identical digests. Misbehaving clients:
test_faults_clients.py; a full disk and a database restart: test_faults_storage.py."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import BIN, init_registry, run, start_server
from .test_models_transfers import MB, Cli, ok, sha256_of, storage_puts, write_random

pytestmark = pytest.mark.e2e

SMALL_PARTS = {"NGC_REGISTRY_PART_SIZE": str(MB)}
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Registry:
    """One data directory served by a process that the test may kill and start again."""

    def __init__(self, data_dir: Path, env: dict | None = None):
        self.data_dir, self.env = data_dir, env or {}
        self.key = init_registry(data_dir)
        self.server = start_server(data_dir, self.key, env=self.env)

    def kill(self) -> None:
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait(timeout=30)

    def restart(self) -> None:
        self.kill() if self.server.process.poll() is None else None
        self.server = start_server(self.data_dir, self.key, env=self.env)

    def stop(self) -> None:
        if self.server.process.poll() is None:
            self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth("$oauthtoken", self.key)

    def check_store(self) -> None:
        """Every blob in the store holds the bytes its name says, and fsck (when installed) agrees."""
        for path in (self.data_dir / "blobs" / "sha256").rglob("*"):
            if path.is_file():
                assert sha256_of(path) == path.name, f"{path} does not hold the bytes of its name"
        done = run(str(BIN / "ngc-registry"), "fsck", "--data-dir", str(self.data_dir))
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def registry(tmp_path):
    made = Registry(tmp_path / "data", SMALL_PARTS)
    yield made
    made.stop()


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition was never met"
        time.sleep(0.01)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_sigkill_during_an_ngc_multipart_upload(registry, tmp_path):
    cli, target = Cli(registry.server, tmp_path / "home"), f"{registry.server.org}/killed_upload"
    source = tmp_path / "src"
    write_random(source / "weights.bin", 30 * MB + 17)
    (source / "config.json").write_text('{"a": 1}')
    ok(cli("registry", "model", "create", target))
    upload = cli.start("registry", "model", "upload-version", "--source", str(source), f"{target}:1",
                       NGC_CLI_MAX_CONCURRENCY="2", NGC_CLI_UPLOAD_RETRIES="1")
    before = storage_puts(registry.server)
    wait_for(lambda: storage_puts(registry.server) - before >= 8)
    registry.kill()
    upload.communicate(timeout=120)
    assert upload.returncode != 0
    registry.restart()
    cli.server = registry.server
    assert "UPLOAD_PENDING" in ok(cli("registry", "model", "info", f"{target}:1"))
    registry.check_store()
    out = ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1"))
    assert "UPLOAD_COMPLETE" in out
    dest = tmp_path / "dest"
    dest.mkdir()
    ok(cli("registry", "model", "download-version", "--dest", str(dest), f"{target}:1"))
    for name in ("weights.bin", "config.json"):
        assert sha256_of(dest / "killed_upload_v1" / name) == sha256_of(source / name)
    registry.check_store()


def _slow_body(first: bytes, rest: bytes, sent: threading.Event):
    yield first
    sent.set()
    for start in range(0, len(rest), 4096):
        time.sleep(0.05)
        yield rest[start:start + 4096]


def _in_background(work) -> threading.Thread:
    def guarded():
        try:
            work()
        except httpx.HTTPError:
            pass  # the server is killed under it
    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    return thread


def test_sigkill_during_an_oci_chunked_upload(registry):
    name, blob = "nvidia/chunked", os.urandom(3 * MB)
    started = httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/", auth=registry.auth())
    location = started.headers["location"]
    first = httpx.patch(f"{registry.url}{location}", content=blob[:MB], auth=registry.auth(),
                        headers={"Content-Range": f"0-{MB - 1}"})
    assert first.status_code == 202
    sent = threading.Event()
    thread = _in_background(lambda: httpx.patch(
        f"{registry.url}{location}", content=_slow_body(blob[MB:MB + 65536], blob[MB + 65536:2 * MB], sent),
        auth=registry.auth(), headers={"Content-Range": f"{MB}-{2 * MB - 1}"}, timeout=60))
    sent.wait(timeout=30)
    time.sleep(0.2)
    registry.kill()
    thread.join(timeout=60)
    registry.restart()
    status = httpx.get(f"{registry.url}{location}", auth=registry.auth())
    assert status.status_code == 204 and status.headers["range"] == f"0-{MB - 1}"  # the cut chunk is not counted
    for start in (MB, 2 * MB):
        resumed = httpx.patch(f"{registry.url}{location}", content=blob[start:start + MB], auth=registry.auth(),
                              headers={"Content-Range": f"{start}-{start + MB - 1}"})
        assert resumed.status_code == 202, resumed.text
    done = httpx.put(f"{registry.url}{location}?digest={sha(blob)}", auth=registry.auth())
    assert done.status_code == 201, done.text
    pulled = httpx.get(f"{registry.url}/v2/{name}/blobs/{sha(blob)}", auth=registry.auth())
    assert sha(pulled.content) == sha(blob)
    registry.check_store()


def _token(registry) -> dict:
    token = httpx.get(f"{registry.url}/token", params={"service": "ngc"}, auth=registry.auth()).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_sigkill_during_a_version_commit_leaves_all_or_nothing(registry, tmp_path):
    cli, org = Cli(registry.server, tmp_path / "home"), registry.server.org
    source = tmp_path / "src"
    (source / "seed").mkdir(parents=True)
    (source / "seed" / "one.bin").write_bytes(b"the same bytes in every file")
    ok(cli("registry", "model", "create", f"{org}/committed"))
    ok(cli("registry", "model", "upload-version", "--source", str(source), f"{org}/committed:seed"))
    headers, base = _token(registry), f"{registry.url}/v2/org/{org}"
    assert httpx.post(f"{base}/models/committed/versions", json={"versionId": "2"}, headers=headers).is_success
    b64 = base64.b64encode(hashlib.sha256(b"the same bytes in every file").digest()).decode()
    files = [{"filePath": f"dir{i // 100}/file{i}.bin", "sha256": b64} for i in range(4000)]
    body = {"name": "committed", "version": "2", "artifactType": "models", "files": files}
    thread = _in_background(lambda: httpx.post(f"{base}/files/commit", json=body, headers=headers, timeout=120))
    time.sleep(0.6)
    registry.kill()
    thread.join(timeout=60)
    registry.restart()
    headers, base = _token(registry), f"{registry.url}/v2/org/{org}"
    listed = httpx.get(f"{base}/models/committed/versions/2", headers=headers).json()["modelVersion"]
    assert listed["totalFileCount"] in (0, 4000) and listed["status"] == "UPLOAD_PENDING"
    assert httpx.post(f"{base}/files/commit", json=body, headers=headers, timeout=120).is_success
    done = httpx.patch(f"{base}/models/committed/versions/2", json={"status": "UPLOAD_COMPLETE"}, headers=headers)
    assert done.json()["modelVersion"]["totalFileCount"] == 4000
    registry.check_store()


def test_sigkill_during_a_manifest_put(registry):
    name, auth = "nvidia/manifested", registry.auth()
    config, layer = b'{"architecture": "amd64", "os": "linux"}', os.urandom(1000)
    for blob in (config, layer):
        assert httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/?digest={sha(blob)}", content=blob,
                          auth=auth).status_code == 201
    document = {"schemaVersion": 2, "mediaType": MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                           "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer),
                            "size": len(layer)}], "annotations": {"pad": "x" * 300_000}}
    body, sent = json.dumps(document).encode(), threading.Event()
    thread = _in_background(lambda: httpx.put(
        f"{registry.url}/v2/{name}/manifests/v1", content=_slow_body(body[:1000], body[1000:], sent), auth=auth,
        headers={"Content-Type": MANIFEST}, timeout=60))
    sent.wait(timeout=30)
    time.sleep(0.3)
    registry.kill()
    thread.join(timeout=60)
    registry.restart()
    assert httpx.get(f"{registry.url}/v2/{name}/manifests/v1", auth=auth).status_code == 404
    assert httpx.get(f"{registry.url}/v2/{name}/tags/list", auth=auth).json()["tags"] == []
    put = httpx.put(f"{registry.url}/v2/{name}/manifests/v1", content=body, auth=auth,
                    headers={"Content-Type": MANIFEST})
    assert put.status_code == 201 and put.headers["docker-content-digest"] == sha(body)
    assert sha(httpx.get(f"{registry.url}/v2/{name}/manifests/v1", auth=auth).content) == sha(body)
    registry.check_store()


# -- garbage collection killed ---------------------------------------------------------------------------------

def seed_unreferenced_blobs(data_dir: Path, count: int) -> list[str]:
    """Blobs nothing refers to, old enough to collect: rows and bytes written directly (no fsync: quick)."""
    import sqlite3

    digests = []
    with sqlite3.connect(data_dir / "registry.db") as database:
        for number in range(count):
            data = f"unreferenced {number}".encode()
            digest = hashlib.sha256(data).hexdigest()
            path = data_dir / "blobs" / "sha256" / digest[:2] / digest
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            database.execute("INSERT INTO blobs (digest, size, created_at, last_used_at) VALUES (?, ?, ?, ?)",
                             (f"sha256:{digest}", len(data), "2000-01-01 00:00:00", "2000-01-01 00:00:00"))
            digests.append(f"sha256:{digest}")
    return digests


def test_sigkill_during_garbage_collection(registry, tmp_path):
    cli, target = Cli(registry.server, tmp_path / "home"), f"{registry.server.org}/kept"
    source = tmp_path / "src"
    write_random(source / "kept.bin", 2 * MB)
    ok(cli("registry", "model", "create", target))
    ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1"))
    seeded = seed_unreferenced_blobs(registry.data_dir, 600)
    collector = subprocess.Popen([str(BIN / "ngc-registry"), "gc", "--data-dir", str(registry.data_dir),
                                  "--grace", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stored = lambda: sum(1 for _ in (registry.data_dir / "blobs" / "sha256").rglob("*") if _.is_file())  # noqa: E731
    before = stored()
    wait_for(lambda: stored() < before - 50 or collector.poll() is not None)
    collector.send_signal(signal.SIGKILL)
    collector.wait(timeout=30)
    registry.check_store()  # fsck: exit 0 (rows the kill left without bytes are notes, not problems)
    leftover = seeded[-1]
    blob = f"unreferenced {len(seeded) - 1}".encode()
    pushed = httpx.post(f"{registry.url}/v2/nvidia/regained/blobs/uploads/?digest={leftover}", content=blob,
                        auth=registry.auth())
    assert pushed.status_code == 201
    assert httpx.get(f"{registry.url}/v2/nvidia/regained/blobs/{leftover}", auth=registry.auth()).content == blob
    dest = tmp_path / "dest"
    dest.mkdir()
    ok(cli("registry", "model", "download-version", "--dest", str(dest), f"{target}:1"))
    assert sha256_of(dest / "kept_v1" / "kept.bin") == sha256_of(source / "kept.bin")
