"""An authenticated NGC request runs in one worker-thread hop: its transaction, its caller, the endpoint, the
commit and the rendering of the JSON all happen in the thread the route's wrapper runs in. A read-only one
(`deps.reads_only`) takes none on SQLite, where it runs on the event loop with a session that refuses writes."""

from __future__ import annotations

import anyio.to_thread
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ngc_registry.server.db.base import transaction

from .conftest import ORG


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func, *args, **kwargs):
        calls.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return calls


def _get(registry, path: str, headers: dict, hops: list[str]) -> list[str]:
    hops.clear()
    response = registry.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return list(hops)


def test_an_authenticated_ngc_request_takes_one_thread_hop(registry, hops, settings):
    created = registry.call("POST", f"/v2/org/{ORG}/models", registry.admin_key,
                            json={"name": "hops", "application": "OTHER", "framework": "PyTorch"})
    assert created.status_code == 200, created.text
    headers = registry.headers(registry.admin_key)
    reads_hop = 0 if settings.db_url.startswith("sqlite") else 1
    assert len(_get(registry, f"/v2/org/{ORG}/models/hops", headers, hops)) == reads_hop
    assert len(_get(registry, "/v2/users/me", headers, hops)) == 1


def test_the_event_loops_reads_cannot_write(registry, settings):
    read_sessions = registry.client.app.state.read_sessions
    if not settings.db_url.startswith("sqlite"):
        assert read_sessions is None
        return
    with pytest.raises(OperationalError, match="readonly"), transaction(read_sessions) as session:
        session.execute(text("DELETE FROM orgs"))
    with transaction(read_sessions) as session:
        assert session.scalar(text("SELECT count(*) FROM orgs")) == 1
