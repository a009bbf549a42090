"""An authenticated NGC request runs in one worker-thread hop: its transaction, its caller, the endpoint, the
commit and the rendering of the JSON all happen in the thread the route's wrapper runs in."""

from __future__ import annotations

import anyio.to_thread
import pytest

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


def test_an_authenticated_ngc_request_takes_one_thread_hop(registry, hops):
    created = registry.call("POST", f"/v2/org/{ORG}/models", registry.admin_key,
                            json={"name": "hops", "application": "OTHER", "framework": "PyTorch"})
    assert created.status_code == 200, created.text
    headers = registry.headers(registry.admin_key)
    assert len(_get(registry, f"/v2/org/{ORG}/models/hops", headers, hops)) == 1
    assert len(_get(registry, "/v2/users/me", headers, hops)) == 1
