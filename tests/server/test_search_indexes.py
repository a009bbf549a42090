"""Migrations 0007 and 0008: the search indexes exist after an upgrade (SQLite and PostgreSQL), go with a
downgrade, match db/tables.py, and the catalog and team searches are answered from indexes on SQLite."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, event, inspect

from ngc_registry.server.auth.policy import Grant, Principal, Role
from ngc_registry.server.db.base import _alembic_config, make_engine, make_sessionmaker
from ngc_registry.server.db.tables import Artifact, ImageRepository, Org, Team
from ngc_registry.server.services import search

from ..postgres import new_database

INDEXES = {"artifacts": [("ix_artifacts_kind_public_resource", ["kind", "is_public", "resource_id", "org_id"]),
                         ("ix_artifacts_kind_team_resource", ["kind", "team_id", "resource_id"])],
           "image_repositories": [("ix_image_repositories_public_name", ["is_public", "name", "org_id"])]}
NAMES = {name for indexes in INDEXES.values() for name, _ in indexes}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.db"
    return new_database(request.getfixturevalue("postgres_url"))


def _indexes(url: str) -> dict[str, dict[str, list[str]]]:
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {table: {ix["name"]: ix["column_names"] for ix in found.get_indexes(table)} for table in INDEXES}
    finally:
        engine.dispose()


def test_0007_0008_create_the_search_indexes_and_downgrade_drops_them(url):
    config = _alembic_config(url)
    command.upgrade(config, "head")
    for table, indexes in INDEXES.items():
        for name, columns in indexes:
            assert _indexes(url)[table][name] == columns
    command.downgrade(config, "0006")
    assert not NAMES & {n for ix in _indexes(url).values() for n in ix}
    command.upgrade(config, "head")
    assert NAMES <= {n for ix in _indexes(url).values() for n in ix}


def test_the_models_declare_the_same_indexes():
    for model in (Artifact, ImageRepository):
        declared = {ix.name: [c.name for c in ix.columns] for ix in model.__table__.indexes}
        for name, columns in INDEXES[model.__tablename__]:
            assert declared[name] == columns


def _plans(tmp_path, search_with) -> list[str]:
    """The SQLite query plan of every SELECT a search runs on an empty registry."""
    url = f"sqlite:///{tmp_path}/registry.db"
    command.upgrade(_alembic_config(url), "head")
    engine = make_engine(url)
    statements: list[tuple[str, tuple]] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, params, *_: statements.append((sql, params)))
    with make_sessionmaker(engine)() as session:
        search_with(session)
        connection = session.connection().connection.driver_connection
        plans = [" ".join(row[-1] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params))
                 for sql, params in statements if sql.lstrip().startswith("SELECT")]
    engine.dispose()
    return plans


def test_the_public_catalog_search_reads_the_index_on_sqlite(tmp_path):
    member = Principal(user_id=1, grants=(Grant(org_id=1, team_id=None, role=Role.READ),))
    plans = _plans(tmp_path, lambda session: search.search_catalog(session, member, search.Query("models")))
    assert plans and all("COVERING INDEX ix_artifacts_kind_public_resource" in plan for plan in plans)


def test_a_team_search_reads_index_ranges_merged_without_a_sort_on_sqlite(tmp_path):
    member = Principal(user_id=1, grants=(Grant(org_id=1, team_id=None, role=Role.READ),))
    org, team = Org(id=1, name="acme"), Team(id=2, org_id=1, name="team-a")
    plans = _plans(tmp_path, lambda session: search.search_space(session, member, search.Query("models"), org, team))
    assert plans and all("SCAN" not in plan and "TEMP B-TREE" not in plan for plan in plans)
    assert any("MERGE (UNION ALL)" in plan and "ix_artifacts_kind_team_resource" in plan for plan in plans)
