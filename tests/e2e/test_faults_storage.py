"""The machine fails under a real server process: a full disk during uploads (a clear 507, nothing half-written,
works again once space is freed), and PostgreSQL restarted under load (200 or 503, never a 500, nothing lost)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import BIN, init_registry, run, start_server
from .test_faults import SMALL_PARTS, Registry, sha
from .test_models_transfers import MB, Cli, ok, sha256_of, write_random

pytestmark = pytest.mark.e2e


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
        time.sleep(0.01)


def test_postgresql_restarted_under_load_fails_cleanly_and_recovers(tmp_path):
    from ..postgres import PostgresServer, new_database

    root = Path(tempfile.mkdtemp(prefix="ngc-test-pg-"))  # not under pytest's 0700 tmp: postgres must reach it
    database = PostgresServer(root)
    try:
        url = new_database(database.base_url)
        done = run(str(BIN / "ngc-registry"), "init", "--data-dir", str(tmp_path / "data"), "--org", "nvidia",
                   "--admin-email", "admin@example.com", "--database-url", url)
        assert done.returncode == 0, done.stderr
        server = start_server(tmp_path / "data", done.stdout.strip().rsplit("API key: ", 1)[1], "--database-url", url)
        try:
            _restart_under_load(server, database.restart)
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
