"""Migration 0005 on a registry with content: reuse times start at creation, sha512 blobs get rows, and the
collector then knows every stored blob."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from ngc_registry.server.db.base import _alembic_config

from ..postgres import new_database

SHA256, SHA512 = "sha256:" + "a" * 64, "sha512:" + "b" * 128
CREATED = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.db"
    return new_database(request.getfixturevalue("postgres_url"))


def _seed(connection) -> None:
    rows = {"created": CREATED}
    connection.execute(text("INSERT INTO orgs (id, name, display_name, description, type, created_at) "
                            "VALUES (1, 'acme', 'acme', '', 'ENTERPRISE', :created)"), rows)
    connection.execute(text("INSERT INTO image_repositories (id, name, org_id, image, is_public, created_at, "
                            "updated_at, meta) VALUES (1, 'acme/img', 1, 'img', false, :created, :created, '{}')"), rows)
    connection.execute(text("INSERT INTO blobs (digest, size, created_at) VALUES (:d, 10, :created)"),
                       {**rows, "d": SHA256})
    connection.execute(text("INSERT INTO image_blob_links (repository_id, digest, size, created_at) "
                            "VALUES (1, :d, 20, :created)"), {**rows, "d": SHA512})


def test_0005_backfills_reuse_times_and_rows_for_sha512_blobs(url):
    config = _alembic_config(url)
    command.upgrade(config, "0004")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _seed(connection)
        command.upgrade(config, "0005")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT digest, size, last_used_at FROM blobs ORDER BY digest")).all()
        assert [(digest, size) for digest, size, _ in rows] == [(SHA256, 10), (SHA512, 20)]
        assert all(str(last_used).startswith("2026-01-02 03:04:05") for _, _, last_used in rows)
        command.downgrade(config, "0004")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT digest FROM blobs")).scalars().all() == [SHA256]
    finally:
        engine.dispose()
