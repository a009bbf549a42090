"""`PreparedRead` runs the hot statements on the driver's cursor; on SQLite and on PostgreSQL its rows equal
SQLAlchemy's own for the same statement (dates, booleans, JSON, NULLs), and driver errors are SQLAlchemy's."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import column, select, table
from sqlalchemy.exc import DBAPIError

from ngc_registry.server.auth import credentials
from ngc_registry.server.db.base import transaction
from ngc_registry.server.db.prepared import PreparedRead
from ngc_registry.server.db.tables import Artifact, ApiKey
from ngc_registry.server.services import artifacts, keys, ratelimit, users

from .conftest import ORG
from .test_models import Flow


@pytest.fixture
def filled(registry):
    registry.add_team("vision")
    Flow(registry, registry.admin_key).create("open", isPublic=True, labels=["a", "b"])
    Flow(registry, registry.admin_key).upload("open", "1.0", {"a.bin": b"a"})
    registry.add_user("member@example.com", ["REGISTRY_READ"], team="vision")
    registry.client.get("/token", headers={"Authorization": "Basic JG9hdXRodG9rZW46bm9wZQ=="})  # a failure counted
    return registry.client.app.state.sessions


def _cases(session) -> list[tuple[PreparedRead, dict]]:
    card = artifacts.artifact_card(session, "models", ORG, None, "open")
    key = session.scalar(select(ApiKey).order_by(ApiKey.id))
    return [
        (artifacts._ARTIFACT_CARD, {"kind": "models", "rid": card.resource_id}),
        (artifacts._ARTIFACT_CARD, {"kind": "models", "rid": f"{ORG}/missing"}),
        (artifacts._VERSION_CARD, {"artifact_id": card.id, "version": "1.0"}),
        (keys._KEY_HOLDER, {"digest": key.key_hash}),
        (users._GRANTS_SHOWN, {"user_id": key.user_id}),
        (credentials._CALLER_OF_KEY, {"key_id": key.id}),
        (ratelimit._RECENT_FAILURES, {"subject": "token-client:testclient", "since": datetime(2000, 1, 1)}),
        (PreparedRead(select(Artifact.name, Artifact.meta).where(Artifact.kind == "models")), {}),
    ]


def test_rows_equal_sqlalchemys(filled):
    with transaction(filled) as session:
        for prepared, params in _cases(session):
            expected = session.connection().execute(prepared.statement, params).all()
            for _ in range(2):  # the first run learns the result processors, the second uses them
                found = prepared.all(session, params)
                assert [tuple(row) for row in found] == [tuple(row) for row in expected]
                assert all(row._fields == tuple(expected_row._fields) for row, expected_row in zip(found, expected))
        assert any(isinstance(value, bool) for value in artifacts.artifact_card(session, "models", ORG, None, "open"))
        failures = ratelimit._RECENT_FAILURES.first(session, _cases(session)[-2][1])  # a DateTime bound and read
        assert failures.failures == 1 and isinstance(failures.oldest, datetime)


def test_driver_errors_are_sqlalchemys(filled):
    with pytest.raises(DBAPIError, match="nowhere"), transaction(filled) as session:
        PreparedRead(select(column("x")).select_from(table("nowhere"))).all(session, {})
    with transaction(filled) as session:  # the pool still works
        assert artifacts.artifact_card(session, "models", ORG, None, "open").name == "open"
