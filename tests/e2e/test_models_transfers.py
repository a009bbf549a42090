"""Model transfers against a real server: dedup, the sharing recipe (§6.1.2.1), uploads and downloads killed with
SIGKILL and resumed, a server that goes away mid-download, and storage URLs that are tampered with."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import BIN, init_registry, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.shared_registry]

MB = 1_000_000


def ok(result):
    assert result.returncode == 0, f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def storage_puts(server) -> int:
    return server.log.read_text().count('"PUT /_storage/')


def blob_count(server) -> int:
    return sum(1 for path in (server.data_dir / "blobs" / "sha256").rglob("*") if path.is_file())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:
        for _ in range(size // MB):
            stream.write(os.urandom(MB))
        stream.write(os.urandom(size % MB))


class Cli:
    """`ngc` for one server and one NGC_CLI_HOME, run to completion or started in the background."""

    def __init__(self, server, home: Path):
        self.server, self.home = server, home
        home.mkdir(exist_ok=True)

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NGC_")}
        env.update(NGC_CLI_HOME=str(self.home), NGC_CLI_API_URL=self.server.url, NGC_CLI_API_KEY=self.server.admin_key,
                   NGC_CLI_ORG=self.server.org, **extra)
        return env

    def __call__(self, *args: str, **extra) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "ngc"), *args], env=self.env(**extra), capture_output=True, text=True,
                              timeout=300)

    def start(self, *args: str, **extra) -> subprocess.Popen:
        return subprocess.Popen([str(BIN / "ngc"), *args], env=self.env(**extra), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def kill_when(process: subprocess.Popen, condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"finished before it could be killed:\n{process.communicate()}"
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def small_parts(tmp_path_factory):
    """A server of its own with 1 MB multipart parts, so a few dozen MB make many parts."""
    data_dir = tmp_path_factory.mktemp("small-parts") / "data"
    server = start_server(data_dir, init_registry(data_dir), env={"NGC_REGISTRY_PART_SIZE": str(MB)})
    yield server
    server.stop()


@pytest.fixture
def team_of(tmp_path):
    def make(cli: Cli) -> str:
        team = f"team-{uuid.uuid4().hex[:8]}"
        ok(cli("org", "add-team", team, "transfer tests"))
        return team
    return make


def test_a_second_identical_version_sends_no_bytes(registry, tmp_path, team_of):
    cli = Cli(registry, tmp_path / "home")
    target = f"{registry.org}/{team_of(cli)}/dedup"
    source = tmp_path / "src"
    write_random(source / "weights.bin", 3 * MB)
    (source / "config.json").write_text('{"layers": 3}')
    ok(cli("registry", "model", "create", target))
    ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1"))
    puts, blobs = storage_puts(registry), blob_count(registry)
    out = ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:2"))
    assert "Uploaded 0.00 B in" in out and "Files already on the server, not sent: 2" in out
    assert "Version Status: UPLOAD_COMPLETE" in out
    assert storage_puts(registry) == puts and blob_count(registry) == blobs


@pytest.mark.filesystem_store  # counts the part PUTs the server logs; on S3 they go to the store instead
def test_base_version_starts_from_another_versions_files(registry, tmp_path, team_of):
    cli = Cli(registry, tmp_path / "home")
    target = f"{registry.org}/{team_of(cli)}/based"
    first, second = tmp_path / "first", tmp_path / "second"
    write_random(first / "weights.bin", 2 * MB)
    (first / "config.json").write_text('{"layers": 3}')
    second.mkdir()
    (second / "config.json").write_text('{"layers": 4}')
    ok(cli("registry", "model", "create", target))
    ok(cli("registry", "model", "upload-version", "--source", str(first), f"{target}:1"))
    puts = storage_puts(registry)
    ok(cli("registry", "model", "upload-version", "--source", str(second), "--base-version", "1", f"{target}:2"))
    assert storage_puts(registry) == puts + 1  # only the new config.json
    dest = tmp_path / "dest"
    dest.mkdir()
    ok(cli("registry", "model", "download-version", "--dest", str(dest), f"{target}:2"))
    assert sha256_of(dest / "based_v2" / "weights.bin") == sha256_of(first / "weights.bin")
    assert (dest / "based_v2" / "config.json").read_text() == '{"layers": 4}'
    missing = cli("registry", "model", "upload-version", "--source", str(second), "--base-version", "9",
                  f"{target}:3")
    assert missing.returncode == 1 and missing.stderr == f"Error: Target '{target}:9' could not be found.\n"
    assert cli("registry", "model", "info", f"{target}:3").returncode == 1  # refused before anything was made


def test_the_sharing_recipe_copies_a_model_to_another_team_without_a_second_copy(registry, tmp_path, team_of):
    cli = Cli(registry, tmp_path / "home")
    team_a, team_b = team_of(cli), team_of(cli)
    source = tmp_path / "src"
    write_random(source / "cmr" / "model.pt", 2 * MB)
    (source / "README.md").write_text("gnmt")
    ok(cli("registry", "model", "create", f"{registry.org}/{team_a}/cmr_gnmt"))
    ok(cli("registry", "model", "upload-version", "--source", str(source), f"{registry.org}/{team_a}/cmr_gnmt:1"))
    puts, blobs = storage_puts(registry), blob_count(registry)

    models = tmp_path / "models"
    models.mkdir()
    ok(cli("registry", "model", "download-version", "--dest", str(models), f"{registry.org}/{team_a}/cmr_gnmt:1"))
    ok(cli("registry", "model", "create", f"{registry.org}/{team_b}/cmr_gnmt"))
    out = ok(cli("registry", "model", "upload-version", "--source", str(models / "cmr_gnmt_v1"),
                 f"{registry.org}/{team_b}/cmr_gnmt:1"))
    assert "Upload status: Completed." in out and "Total files uploaded: 2" in out
    assert storage_puts(registry) == puts and blob_count(registry) == blobs
    listing = ok(cli("registry", "model", "info", f"{registry.org}/{team_b}/cmr_gnmt:1", "--files"))
    assert "cmr/model.pt: 1.91 MB" in listing and "README.md: 4.00 B" in listing


def test_an_upload_killed_halfway_resumes_and_sends_only_what_is_missing(small_parts, tmp_path, team_of):
    cli = Cli(small_parts, tmp_path / "home")
    target = f"{small_parts.org}/{team_of(cli)}/resumable"
    source = tmp_path / "src"
    write_random(source / "a.bin", 40 * MB)
    write_random(source / "deep" / "b.bin", 24 * MB + 123)
    (source / "small.txt").write_text("small")
    total_parts = 40 + 25 + 1
    ok(cli("registry", "model", "create", target))

    before = storage_puts(small_parts)
    process = cli.start("registry", "model", "upload-version", "--source", str(source), f"{target}:1",
                        NGC_CLI_MAX_CONCURRENCY="2")
    kill_when(process, lambda: storage_puts(small_parts) - before >= 20)
    first_run = storage_puts(small_parts) - before
    assert first_run < total_parts
    assert "UPLOAD_PENDING" in ok(cli("registry", "model", "info", f"{target}:1"))

    out = ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1"))
    assert "Resuming the upload" in out and "Version Status: UPLOAD_COMPLETE" in out
    second_run = storage_puts(small_parts) - before - first_run
    assert second_run <= total_parts - first_run + 4  # parts in flight at the kill may be sent twice
    assert not any((cli.home / ".ngc" / "transfer-caches").iterdir())

    dest = tmp_path / "dest"
    dest.mkdir()
    ok(cli("registry", "model", "download-version", "-d", str(dest), f"{target}:1"))
    for name in ("a.bin", "deep/b.bin", "small.txt"):
        assert sha256_of(dest / "resumable_v1" / name) == sha256_of(source / name)


def test_a_download_killed_halfway_resumes_from_its_partial_bytes(small_parts, tmp_path, team_of):
    cli = Cli(small_parts, tmp_path / "home")
    target = f"{small_parts.org}/{team_of(cli)}/bigdownload"
    source = tmp_path / "src"
    write_random(source / "big.bin", 120 * MB)
    ok(cli("registry", "model", "create", target))
    ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1"))

    dest = tmp_path / "dest"
    dest.mkdir()
    partial_dir = dest / "bigdownload_v1" / ".ngc-partial"

    def written() -> int:
        states = [json.loads(p.read_text()) for p in partial_dir.glob("*.json")] if partial_dir.is_dir() else []
        return sum(sum(state["written"].values()) for state in states)

    process = cli.start("registry", "model", "download-version", "-d", str(dest), f"{target}:1",
                        NGC_CLI_MAX_CONCURRENCY="1")
    kill_when(process, lambda: written() >= 30 * MB)
    assert not (dest / "bigdownload_v1" / "big.bin").exists()

    out = ok(cli("registry", "model", "download-version", "-d", str(dest), f"{target}:1"))
    transferred = float(out.split()[1]) * {"KB": 1024, "MB": 1024 ** 2}[out.split()[2]]
    assert transferred <= 120 * MB - 30 * MB + 1024 ** 2
    assert sha256_of(dest / "bigdownload_v1" / "big.bin") == sha256_of(source / "big.bin")
    assert not partial_dir.exists()

    again = ok(cli("registry", "model", "download-version", "-d", str(dest), f"{target}:1"))
    assert again.startswith("Downloaded 0.00 B") and "Files already complete locally: 1" in again


def test_a_server_lost_mid_download_fails_resumably(tmp_path, team_of):
    data_dir = tmp_path / "data"
    key = init_registry(data_dir)
    server = start_server(data_dir, key)
    cli = Cli(server, tmp_path / "home")
    target = f"{server.org}/{team_of(cli)}/flaky"
    source = tmp_path / "src"
    write_random(source / "f.bin", 150 * MB)
    ok(cli("registry", "model", "create", target))
    ok(cli("registry", "model", "upload-version", "--source", str(source), f"{target}:1"))
    dest = tmp_path / "dest"
    dest.mkdir()
    partial_dir = dest / "flaky_v1" / ".ngc-partial"
    process = cli.start("registry", "model", "download-version", "-d", str(dest), f"{target}:1",
                        NGC_CLI_MAX_CONCURRENCY="1", NGC_CLI_DOWNLOAD_RETRIES="1")
    try:
        deadline = time.monotonic() + 60
        while not list(partial_dir.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.005)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (3, 5), f"rc={process.returncode}\n{out}\n{err}"
    assert "Download status: Failed." in out and "run the same command again to resume" in err
    assert "Traceback" not in err

    server = start_server(data_dir, key)
    try:
        cli.server = server
        ok(cli("registry", "model", "download-version", "-d", str(dest), f"{target}:1"))
        assert sha256_of(dest / "flaky_v1" / "f.bin") == sha256_of(source / "f.bin")
    finally:
        server.stop()


def _token(registry) -> str:
    return httpx.get(f"{registry.url}/token", params={"service": "ngc"},
                     auth=httpx.BasicAuth("$oauthtoken", registry.admin_key)).json()["token"]


@pytest.mark.filesystem_store  # S3 takes a part of any size; test_s3.py checks that completion refuses it
def test_tampered_storage_urls_and_wrong_parts_are_refused(registry, tmp_path, team_of):
    cli = Cli(registry, tmp_path / "home")
    team = team_of(cli)
    target = f"{registry.org}/{team}/guarded"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "x.bin").write_bytes(b"x" * 1000)
    ok(cli("registry", "model", "create", target))
    ok(cli("registry", "model", "upload-version", "--source", str(tmp_path / "src"), f"{target}:1"))
    headers = {"Authorization": f"Bearer {_token(registry)}"}
    base = f"{registry.url}/v2/org/{registry.org}/team/{team}"
    url = httpx.get(f"{base}/models/guarded/1/files", headers=headers).json()["urls"][0]
    assert httpx.get(url, headers={"Range": "bytes=0-9"}).status_code == 206
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert httpx.get(tampered).status_code == 403

    assert httpx.post(f"{base}/models/guarded/versions", json={"versionId": "2"}, headers=headers).status_code == 200
    start = httpx.post(f"{registry.url}/v2/org/{registry.org}/team/{team}/files/multipart", headers=headers,
                       json={"name": "guarded", "version": "2", "artifactType": "models", "filePath": "y.bin",
                             "size": 10}).json()
    part_url = start["urls"][0]
    assert 400 <= httpx.put(part_url, content=b"too short").status_code < 500
    assert httpx.put(part_url[:-3] + ("AAA" if not part_url.endswith("AAA") else "BBB"),
                     content=b"0123456789").status_code == 403
    assert httpx.put(part_url, content=b"0123456789").status_code < 300
