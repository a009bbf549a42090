"""Backup and restore: export a live registry with a model and an image in it, import it into a new data dir on
SQLite and on PostgreSQL, serve each, and download and pull everything back with identical digests."""

from __future__ import annotations

import tarfile

import pytest

from ..postgres import new_database, postgres_url  # noqa: F401  (fixture)
from .conftest import init_registry, start_server
from .ops_support import Content, admin, init_with, need

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def backup(tmp_path_factory):
    """A backup taken while the server runs, and the content it holds."""
    need("skopeo", "skopeo")
    work = tmp_path_factory.mktemp("backup")
    data_dir = work / "source" / "data"
    key = init_registry(data_dir)
    server = start_server(data_dir, key)
    content = Content(work)
    try:
        content.put(server)
        exported = admin("export", "--data-dir", str(data_dir), "--to", str(work / "backup.tar"))
        assert exported.returncode == 0, exported.stderr
    finally:
        server.stop()
    assert exported.stdout.startswith("Exported ") and "blobs" in exported.stdout
    return work / "backup.tar", key, content


def _restore_and_check(backup, data_dir, *database: str) -> None:
    archive, key, content = backup
    imported = admin("import", "--data-dir", str(data_dir), *database, "--from", str(archive))
    assert imported.returncode == 0, imported.stderr
    checked = admin("fsck", "--data-dir", str(data_dir), *database)
    assert checked.returncode == 0 and checked.stdout.endswith(" problems\n") and ", 0 problems" in checked.stdout
    server = start_server(data_dir, key, *database)  # the old API key works: its hash came along
    try:
        content.check(server, data_dir.parent.name)
    finally:
        server.stop()


def test_the_archive_holds_blobs_before_rows_and_no_upload_sessions(backup):
    with tarfile.open(backup[0]) as tar:
        names = tar.getnames()
    assert names[0] == "backup.json"
    first_table = next(i for i, name in enumerate(names) if name.startswith("tables/"))
    assert all(name.startswith("blobs/") for name in names[1:first_table])
    assert all(name.startswith("tables/") for name in names[first_table:])
    assert "tables/blobs.jsonl" in names and "tables/uploads.jsonl" not in names


def test_restore_into_sqlite(backup, tmp_path):
    _restore_and_check(backup, tmp_path / "sqlite" / "data")


def test_restore_into_postgresql(backup, tmp_path, postgres_url):  # noqa: F811
    _restore_and_check(backup, tmp_path / "postgresql" / "data", "--database-url", new_database(postgres_url))


def test_import_refuses_a_database_that_holds_a_registry(backup, tmp_path):
    data_dir = tmp_path / "data"
    init_registry(data_dir)
    refused = admin("import", "--data-dir", str(data_dir), "--from", str(backup[0]))
    assert refused.returncode == 1 and "already holds a registry" in refused.stderr


def test_a_postgresql_registry_restores_into_sqlite(tmp_path, postgres_url):  # noqa: F811
    need("skopeo", "skopeo")
    data_dir, database = tmp_path / "source" / "data", ["--database-url", new_database(postgres_url)]
    key = init_with(data_dir, *database)
    server = start_server(data_dir, key, *database)
    content = Content(tmp_path / "content")
    try:
        content.put(server)
        exported = admin("export", "--data-dir", str(data_dir), *database, "--to", str(tmp_path / "pg.tar"))
        assert exported.returncode == 0, exported.stderr
    finally:
        server.stop()
    _restore_and_check((tmp_path / "pg.tar", key, content), tmp_path / "restored" / "data")
