"""Faults against real server processes: SIGKILL of the server in the middle of an NGC multipart upload, an OCI
chunked upload, a version commit and a manifest PUT; after a restart nothing partial is visible, `ngc-registry fsck`
is clean and the client's rerun ends with identical digests. Then clients that vanish or lie about their body
sizes, and a full disk."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

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


# -- clients that vanish or lie ---------------------------------------------------------------------------------

def raw_request(url: str, head: str, body: bytes, close: bool = True) -> bytes:
    """Send bytes as they are; return what came back (until the server closes, or 2 s)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        if close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def _basic(registry) -> str:
    return "Basic " + base64.b64encode(f"$oauthtoken:{registry.key}".encode()).decode()


def test_clients_that_vanish_or_send_other_sizes_than_declared(registry):
    name, blob = "nvidia/sizes", os.urandom(500)
    head = (f"POST /v2/{name}/blobs/uploads/?digest={sha(blob)} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {_basic(registry)}\r\nContent-Length: {{length}}\r\n")
    fewer = raw_request(registry.url, head.format(length=1000), blob)  # 500 of 1000 bytes, then gone
    assert b" 201 " not in fewer
    more = raw_request(registry.url, head.format(length=500), blob + b"GARBAGE" * 100)
    assert b" 400 " in more and b" 500 " not in more, more[:300]  # the extra bytes are not a request: refused
    landed = httpx.get(f"{registry.url}/v2/{name}/blobs/{sha(blob)}", auth=registry.auth())
    assert landed.status_code == 404 or landed.content == blob  # the declared 500 bytes, or nothing
    wrong = httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/?digest={sha(blob + b'x')}", content=blob,
                       auth=registry.auth())
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/?digest={sha(blob)}", content=blob,
                      auth=registry.auth()).status_code == 201
    assert httpx.get(f"{registry.url}/v2/{name}/blobs/{sha(blob)}", auth=registry.auth()).content == blob
    big = os.urandom(8 * MB)
    assert httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/?digest={sha(big)}", content=big,
                      auth=registry.auth()).status_code == 201
    descriptors = _open_files(registry)
    for _ in range(20):  # downloads abandoned after their first bytes
        with httpx.stream("GET", f"{registry.url}/v2/{name}/blobs/{sha(big)}", auth=registry.auth()) as response:
            next(response.iter_raw(65536))
    wait_for(lambda: _open_files(registry) <= descriptors + 2, timeout=10)
    assert httpx.get(f"{registry.url}/health").status_code == 200
    assert not list((registry.data_dir / "blobs" / "tmp").iterdir())
    registry.check_store()


def _open_files(registry) -> int:
    return len(os.listdir(f"/proc/{registry.server.process.pid}/fd"))


def test_a_part_cut_short_is_not_recorded_and_can_be_sent_again(registry, tmp_path):
    org, headers = registry.server.org, _token(registry)
    base = f"{registry.url}/v2/org/{org}"
    assert httpx.post(f"{base}/models", json={"name": "cut"}, headers=headers).is_success
    assert httpx.post(f"{base}/models/cut/versions", json={"versionId": "1"}, headers=headers).is_success
    data = os.urandom(MB)
    start = httpx.post(f"{base}/files/multipart", headers=headers, json={
        "name": "cut", "version": "1", "filePath": "f.bin", "size": len(data)}).json()
    part = urlsplit(start["urls"][0])
    raw_request(registry.url, f"PUT {part.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n",
                data[:MB // 2])
    body = {"name": "cut", "version": "1", "filePath": "f.bin", "uploadID": start["uploadID"]}
    assert httpx.put(f"{base}/files/multipart", json=body, headers=headers).status_code == 400  # part 1 missing
    assert httpx.put(start["urls"][0], content=data).status_code == 200
    done = httpx.put(f"{base}/files/multipart", json=body, headers=headers)
    assert done.status_code == 200 and done.json()["sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


# -- slow clients ----------------------------------------------------------------------------------------------

def test_slow_clients_are_cut_off_and_others_are_served(tmp_path):
    registry = Registry(tmp_path / "data", {"NGC_REGISTRY_HEADER_TIMEOUT": "2", "NGC_REGISTRY_IDLE_TIMEOUT": "3"})
    try:
        parts = urlsplit(registry.url)
        slow = [socket.create_connection((parts.hostname, parts.port), timeout=10) for _ in range(60)]
        for sock in slow[:40]:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers that never end
        for sock in slow[40:]:
            sock.sendall(f"PUT /v2/nvidia/slow/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nAuthorization: "
                         f"{_basic(registry)}\r\nContent-Length: 1000000\r\n\r\n".encode() + b"x" * 10)
        started = time.monotonic()
        for _ in range(10):
            assert httpx.get(f"{registry.url}/health", timeout=2).status_code == 200
        assert time.monotonic() - started < 5
        time.sleep(4.5)
        assert all(closed_by_server(sock) for sock in slow)
        assert "no complete request headers in time" in registry.server.log.read_text()
        assert "no complete request body in time" in registry.server.log.read_text()
        assert httpx.get(f"{registry.url}/health").status_code == 200
    finally:
        registry.stop()


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(3)
    try:
        while sock.recv(65536):
            pass  # an answer, if any, then the end of the stream
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()


# -- a full disk ---------------------------------------------------------------------------------------------------

def mount_small_store(blobs: Path, size: str) -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the full-disk test mounts a tmpfs: CI runs it as root")
        pytest.skip("mounting a small filesystem needs root")
    blobs.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(blobs)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


def fill(path: Path, leave: int) -> None:
    stats = os.statvfs(path.parent)
    with open(path, "wb") as filler:
        remaining = stats.f_bavail * stats.f_frsize - leave
        while remaining > 0:
            filler.write(b"\0" * min(remaining, MB))
            remaining -= MB


def test_a_full_disk_is_a_clear_507_and_works_again_once_space_is_freed(tmp_path):
    data_dir = tmp_path / "data"
    key = init_registry(data_dir)
    blobs = data_dir / "blobs"
    mount_small_store(blobs, "64m")
    try:
        registry = Registry.__new__(Registry)
        registry.data_dir, registry.env, registry.key = data_dir, SMALL_PARTS, key
        registry.server = start_server(data_dir, key, env=SMALL_PARTS)
        _full_disk_round(registry, tmp_path)
        registry.stop()
    finally:
        subprocess.run(["umount", "-l", str(blobs)], capture_output=True)


def _full_disk_round(registry, tmp_path) -> None:
    filler = registry.data_dir / "blobs" / "filler"
    fill(filler, leave=256 * 1024)
    blob = os.urandom(2 * MB)
    refused = httpx.post(f"{registry.url}/v2/nvidia/full/blobs/uploads/?digest={sha(blob)}", content=blob,
                         auth=registry.auth(), timeout=30)
    assert refused.status_code == 507, refused.text
    assert "storage is full" in refused.json()["errors"][0]["message"]
    cli, target = Cli(registry.server, tmp_path / "home"), f"{registry.server.org}/full_model"
    source = tmp_path / "src"
    write_random(source / "w.bin", 3 * MB)
    ok(cli("registry", "model", "create", target))
    failed = cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1",
                 NGC_CLI_UPLOAD_RETRIES="1")
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert '"PUT /_storage/<signed>" 507' in registry.server.log.read_text()
    assert not list((registry.data_dir / "blobs" / "tmp").iterdir())  # nothing half-written left
    assert httpx.get(f"{registry.url}/v2/nvidia/full/blobs/{sha(blob)}", auth=registry.auth()).status_code == 404
    filler.unlink()
    assert httpx.post(f"{registry.url}/v2/nvidia/full/blobs/uploads/?digest={sha(blob)}", content=blob,
                      auth=registry.auth()).status_code == 201
    ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1"))
    dest = tmp_path / "dest"
    dest.mkdir()
    ok(cli("registry", "model", "download-version", "--dest", str(dest), f"{target}:1"))
    assert sha256_of(dest / "full_model_v1" / "w.bin") == sha256_of(source / "w.bin")
    registry.check_store()


# -- PostgreSQL restarted under load -------------------------------------------------------------------------------

def _load(api_url: str, headers: dict, stop: threading.Event, outcomes: list) -> None:
    number = 0
    while not stop.is_set():
        number += 1
        version = f"{threading.get_ident() % 10000}-{number}"
        try:
            created = httpx.post(f"{api_url}/models/loaded/versions", json={"versionId": version}, headers=headers,
                                 timeout=30)
            listed = httpx.get(f"{api_url}/models/loaded", headers=headers, timeout=30)
            outcomes.append((version, created.status_code, listed.status_code))
        except httpx.HTTPError as error:
            outcomes.append((version, type(error).__name__, None))


def test_postgresql_restarted_under_load_fails_cleanly_and_recovers(tmp_path):
    from ..postgres import PG_BIN, PostgresServer, new_database

    root = Path(tempfile.mkdtemp(prefix="ngc-test-pg-"))  # not under pytest's 0700 tmp: postgres must reach it
    database = PostgresServer(root)
    try:
        url = new_database(database.base_url)
        done = run(str(BIN / "ngc-registry"), "init", "--data-dir", str(tmp_path / "data"), "--org", "nvidia",
                   "--admin-email", "admin@example.com", "--database-url", url)
        assert done.returncode == 0, done.stderr
        server = start_server(tmp_path / "data", done.stdout.strip().rsplit("API key: ", 1)[1], "--database-url", url)
        try:
            _restart_under_load(server, lambda: database._run(
                [str(PG_BIN / "pg_ctl"), "-D", str(database.data), "-m", "fast", "-w", "restart"]))
        finally:
            server.stop()
    finally:
        database.stop()
        shutil.rmtree(root, ignore_errors=True)


def _restart_under_load(server, restart) -> None:
    token = httpx.get(f"{server.url}/token", params={"service": "ngc"},
                      auth=httpx.BasicAuth("$oauthtoken", server.admin_key)).json()["token"]
    headers, api_url = {"Authorization": f"Bearer {token}"}, f"{server.url}/v2/org/nvidia"
    assert httpx.post(f"{api_url}/models", json={"name": "loaded"}, headers=headers).is_success
    stop, outcomes = threading.Event(), []
    workers = [threading.Thread(target=_load, args=(api_url, headers, stop, outcomes)) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1)
    restart()
    time.sleep(2)
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    codes = {code for _, created, listed in outcomes for code in (created, listed) if code is not None}
    assert codes <= {200, 503}, codes  # during the restart: 503 and a Retry-After, never a 500
    versions = {v["versionId"] for v in httpx.get(f"{api_url}/models/loaded/versions?page-size=1000",
                                                   headers=headers).json()["modelVersions"]}
    assert {version for version, created, _ in outcomes if created == 200} <= versions  # acknowledged: kept
    assert httpx.post(f"{api_url}/models/loaded/versions", json={"versionId": "after"}, headers=headers).is_success
