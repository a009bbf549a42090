"""The upload engine against a fake API and a mock storage transport: dedup, parts, resume, changed files."""

from __future__ import annotations

import base64
import hashlib
import os
import threading

import pytest

from ngc_registry.client.registry_api import MODELS
from ngc_registry.client.transfer_http import StorageClient
from ngc_registry.client.transfer_upload import Upload, scan_source
from ngc_registry.errors import AlreadyExistsError, ConfigError, EXIT_OK, EXIT_TRANSFER_FAILED, NotFoundError
from ngc_registry.refs import Target

from .test_transfer_http import storage  # noqa: F401 (fixture)

TARGET = Target("o", "t", "m", "1")


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class FakeServer:
    """H1, P1, part PUTs, P2, C1, V4 in memory, with a part size of `part_size` bytes."""

    kind = MODELS

    def __init__(self, part_size=4, existing=(), status=None):
        self.part_size, self.existing, self.status = part_size, set(existing), status
        self.uploads: dict[str, dict] = {}
        self.calls: list[tuple] = []
        self.fail_parts: set[tuple[str, int]] = set()
        self.committed: list = []

    def create_version(self, target, body):
        self.calls.append(("V2", body))
        if self.status:
            raise AlreadyExistsError("exists")
        self.status = "UPLOAD_PENDING"

    def get_version(self, target):
        return {"modelVersion": {"status": self.status}}

    def existing_hashes(self, target, digests):
        self.calls.append(("H1", tuple(digests)))
        return set(digests) & self.existing

    def start_multipart(self, target, path, size, sha256, upload_id=None, part_numbers=None):
        self.calls.append(("P1", path, upload_id, tuple(part_numbers or ())))
        if upload_id and upload_id not in self.uploads:
            raise NotFoundError("no such upload")
        if not upload_id:
            upload_id = f"up{len(self.uploads)}"
            self.uploads[upload_id] = {"path": path, "size": size, "parts": {}}
        count = max(-(-size // self.part_size), 1)
        numbers = part_numbers or list(range(1, count + 1))
        return {"uploadID": upload_id, "urls": [f"/_storage/{upload_id}/{n}" for n in numbers],
                "partSize": self.part_size}

    def put(self, method: str, path: str, headers: dict, body: bytes):
        upload_id, number = path.split("/")[2:4]
        if (self.uploads[upload_id]["path"], int(number)) in self.fail_parts:
            return 500, b"disk on fire"
        self.calls.append(("PUT", upload_id, int(number)))
        self.uploads[upload_id]["parts"][int(number)] = body
        return 200, b"{}"

    def complete_multipart(self, target, path, upload_id, sha256):
        self.calls.append(("P2", path))
        upload = self.uploads[upload_id]
        data = b"".join(upload["parts"][n] for n in sorted(upload["parts"]))
        assert b64sha(data) == sha256 and len(data) == upload["size"]
        self.existing.add(sha256)

    def commit_files(self, target, files, base_version=None):
        self.committed = list(files)

    def update_version(self, target, body):
        self.calls.append(("V4", body))
        self.status = body["status"]


@pytest.fixture
def run_upload(storage):
    def run(server, source, tmp_path, attempts=1):
        client = StorageClient(storage(server.put).url, 4)
        upload = Upload(server, client, TARGET, source, tmp_path / "caches", attempts=attempts)
        resumed = upload.open_version({"description": "d"})
        return upload.run(scan_source(source)), resumed
    return run


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha file\n")
    (root / "sub" / "b.bin").write_bytes(b"0123456789")
    (root / "empty").write_bytes(b"")
    return root


def test_scan_source_lists_relative_posix_paths(source):
    assert [f.path for f in scan_source(source)] == ["a.txt", "empty", "sub/b.bin"]
    assert [f.path for f in scan_source(source / "sub" / "b.bin")] == ["b.bin"]


def test_scan_source_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        scan_source(tmp_path / "missing")
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(ConfigError, match="no files"):
        scan_source(tmp_path / "empty-dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_scan_source_refuses_unreadable_files(tmp_path):
    (tmp_path / "locked").write_bytes(b"x")
    (tmp_path / "locked").chmod(0)
    with pytest.raises(ConfigError, match="Cannot read"):
        scan_source(tmp_path)


def test_upload_sends_every_part_then_commits_and_completes(source, tmp_path, run_upload):
    server = FakeServer(part_size=4)
    result, resumed = run_upload(server, source, tmp_path)
    assert not resumed and result.exit_code == EXIT_OK
    puts = [c for c in server.calls if c[0] == "PUT"]
    assert len(puts) == 3 + 1 + 3  # 11 bytes → 3 parts, empty → 1 part, 10 bytes → 3 parts
    assert sorted(path for path, _ in server.committed) == ["a.txt", "empty", "sub/b.bin"]
    assert ("V4", {"status": "UPLOAD_COMPLETE"}) in server.calls
    assert result.status == "Completed" and result.files_done == 3 and result.bytes_transferred == 21
    assert not any((tmp_path / "caches").iterdir())


def test_files_the_server_has_are_not_sent(source, tmp_path, run_upload):
    server = FakeServer(existing={b64sha(b"alpha file\n"), b64sha(b"0123456789"), b64sha(b"")})
    result, _ = run_upload(server, source, tmp_path)
    assert not [c for c in server.calls if c[0] in ("P1", "PUT", "P2")]
    assert result.files_skipped == 3 and result.bytes_transferred == 0 and len(server.committed) == 3


def test_an_interrupted_upload_sends_only_the_missing_parts(source, tmp_path, run_upload):
    server = FakeServer(part_size=4)
    server.fail_parts = {("sub/b.bin", 2)}
    result, _ = run_upload(server, source, tmp_path)
    assert result.exit_code == EXIT_TRANSFER_FAILED or result.status == "Incomplete"
    assert "sub/b.bin" in result.failures and server.status == "UPLOAD_PENDING" and not server.committed

    server.fail_parts.clear()
    server.calls.clear()
    result, resumed = run_upload(server, source, tmp_path)
    assert resumed and result.status == "Completed"
    upload_id = next(key for key, upload in server.uploads.items() if upload["path"] == "sub/b.bin")
    resumed_p1 = [c for c in server.calls if c[0] == "P1"]
    assert len(resumed_p1) == 1 and resumed_p1[0][:3] == ("P1", "sub/b.bin", upload_id)
    assert 1 not in resumed_p1[0][3]
    puts = [c for c in server.calls if c[0] == "PUT"]
    assert ("PUT", upload_id, 2) in puts and all(c[1] == upload_id and c[2] != 1 for c in puts)


def test_a_complete_version_is_not_uploaded_again(source, tmp_path, run_upload):
    server = FakeServer(status="UPLOAD_COMPLETE")
    with pytest.raises(AlreadyExistsError, match="Target 'o/t/m:1' already exists."):
        run_upload(server, source, tmp_path)


def test_a_file_changed_after_hashing_fails_clearly(source, tmp_path, run_upload):
    server = FakeServer(part_size=4)
    original = server.existing_hashes

    def change_then_answer(target, digests):
        (source / "a.txt").write_bytes(b"something else entirely")
        return original(target, digests)

    server.existing_hashes = change_then_answer
    result, _ = run_upload(server, source, tmp_path)
    assert "changed while it was being uploaded" in result.failures["a.txt"]
    assert server.status == "UPLOAD_PENDING"


def test_a_forgotten_upload_id_starts_a_new_upload(source, tmp_path, run_upload):
    server = FakeServer(part_size=4)
    server.fail_parts = {("a.txt", 1)}
    run_upload(server, source, tmp_path)
    server.uploads.pop(next(key for key, upload in server.uploads.items() if upload["path"] == "a.txt"))
    server.fail_parts.clear()
    result, _ = run_upload(server, source, tmp_path)
    assert result.status == "Completed"


def test_scan_source_skips_partial_downloads_and_refuses_special_files(source):
    (source / ".ngc-partial").mkdir()
    (source / ".ngc-partial" / "x.part").write_bytes(b"half")
    assert ".ngc-partial/x.part" not in [f.path for f in scan_source(source)]
    os.mkfifo(source / "pipe")
    with pytest.raises(ConfigError, match="not a regular file"):
        scan_source(source)


@pytest.fixture
def many(tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    for n in range(40):
        (root / f"f{n:02d}.bin").write_bytes(f"file {n} ".encode() * (n + 1))
    return root


def test_many_files_the_server_has_are_skipped_and_the_rest_sent_once(many, tmp_path, run_upload):
    have = {b64sha((many / f"f{n:02d}.bin").read_bytes()) for n in range(0, 40, 3)}
    server = FakeServer(part_size=64, existing=have)
    result, _ = run_upload(server, many, tmp_path)
    assert result.status == "Completed" and result.files_skipped == 14 and result.files_done == 40
    started = [c[1] for c in server.calls if c[0] == "P1"]
    assert sorted(started) == [f"f{n:02d}.bin" for n in range(40) if n % 3] and len(set(started)) == 26
    checked = [digest for c in server.calls if c[0] == "H1" for digest in c[1]]
    assert len(checked) == 40 == len(set(checked))
    assert len(server.committed) == 40


def test_many_files_resume_after_a_failed_part_sending_only_what_is_missing(many, tmp_path, run_upload):
    server = FakeServer(part_size=64)
    server.fail_parts = {("f30.bin", 2), ("f31.bin", 1)}
    first, _ = run_upload(server, many, tmp_path)
    assert set(first.failures) == {"f30.bin", "f31.bin"} and not server.committed
    server.fail_parts.clear()
    server.calls.clear()
    result, resumed = run_upload(server, many, tmp_path)
    assert resumed and result.status == "Completed" and len(server.committed) == 40
    assert sorted(c[1] for c in server.calls if c[0] == "P1") == ["f30.bin", "f31.bin"]
    resent = {c[1] for c in server.calls if c[0] == "PUT"}
    assert resent == {key for key, upload in server.uploads.items() if upload["path"] in ("f30.bin", "f31.bin")}


def test_the_first_files_parts_are_sent_while_later_files_are_still_hashed(many, tmp_path, run_upload,
                                                                           monkeypatch):
    from ngc_registry.client import transfer_upload

    server, first_put, real_hash = FakeServer(part_size=64), threading.Event(), transfer_upload.hash_file
    real_put = server.put

    def put(*args):
        first_put.set()
        return real_put(*args)

    def hash_file(path, stop):
        if path.name == "f39.bin":  # the last file: hashed only once a part of an earlier one was sent
            assert first_put.wait(30), "no part was sent before the last file was hashed"
        return real_hash(path, stop)

    server.put = put
    monkeypatch.setattr(transfer_upload, "hash_file", hash_file)
    result, _ = run_upload(server, many, tmp_path)
    assert result.status == "Completed" and "f39.bin" not in result.failures
