"""The catalog pages: visibility (guests see public content only), filters and paging, the model page with its
sanitised overview, metrics and files, and downloads through freshly signed URLs."""

from __future__ import annotations

import re

import pytest

from ngc_registry.server.auth.policy import Role
from ngc_registry.server.services import orgs, users

from .conftest import ORG
from .test_models import Flow, local
from .test_ui_support import Web, signed_in

HOSTILE = """# Card

<script>alert("pwned")</script>
[click](javascript:alert(1)) <a href="JaVaScRiPt:alert(2)">raw</a> <img src="x" onerror="alert(3)">
<a href="https://example.com/ok" onmouseover="alert(4)">fine</a>

| metric | value |
|---|---|
| top1 | 0.9 |
"""
METRICS = [{"name": "Quality", "attributes": [{"key": "top1", "value": "91.5"}, {"key": "<b>bold</b>", "value": "x"}]}]


@pytest.fixture
def flow(registry):
    return Flow(registry, registry.admin_key)


def publish(registry, name: str) -> None:
    response = registry.call("PATCH", f"/v2/org/{ORG}/models/{name}", registry.admin_key, json={"isPublic": True})
    assert response.status_code == 200, response.text


def names(html: str) -> list[str]:
    return re.findall(r'class="mono muted">([^<]+)</div>', html)


def test_guests_see_public_content_only(registry, flow):
    flow.create("private-model")
    flow.create("public-model")
    publish(registry, "public-model")
    guest = Web(registry.client.app)
    assert names(guest.get("/catalog").text) == [f"{ORG}/public-model"]
    assert "unlocked" in guest.get(f"/catalog/models/{ORG}/public-model").text
    private = guest.get(f"/catalog/models/{ORG}/private-model")
    assert private.status_code == 303 and private.headers["location"].startswith("/login?next=")
    member = signed_in(registry)
    assert sorted(names(member.get("/catalog").text)) == [f"{ORG}/private-model", f"{ORG}/public-model"]
    assert "locked" in member.get(f"/catalog/models/{ORG}/private-model").text


def test_members_of_another_org_are_refused_private_pages(registry, flow):
    flow.create("secret")
    with registry.client.app.state.sessions.begin() as session:
        other = orgs.create_org(session, "other")
        outsider, _ = users.ensure_user(session, "outsider@example.com", "")
        users.grant_roles(session, outsider, other, None, [Role.WRITE_ADMIN], None)
    web = signed_in(registry, "outsider@example.com")
    assert names(web.get("/catalog").text) == []
    assert web.get(f"/catalog/models/{ORG}/secret").status_code == 403


def test_filters_and_paging(registry, flow):
    for index in range(23):
        flow.create(f"m{index:02d}", framework="TensorRT" if index % 2 else "PyTorch", precision="FP16",
                    labels=["even" if index % 2 == 0 else "odd"], shortDescription=f"model number {index}")
    web = signed_in(registry)
    first = web.get("/catalog").text
    assert len(names(first)) == 20 and "Page 1 of 2" in first and "23 models" in first
    assert len(names(web.get("/catalog?page_number=2").text)) == 3
    assert len(names(web.get("/catalog?framework=TensorRT").text)) == 11
    assert len(names(web.get("/catalog?label=even").text)) == 12
    assert names(web.get("/catalog?q=number+7").text) == [f"{ORG}/m07"]
    assert names(web.get("/catalog?q=m1&framework=PyTorch").text) == [f"{ORG}/m{i}" for i in ("18", "16", "14",
                                                                                                "12", "10")]
    assert names(web.get(f"/catalog?space={ORG}/no-such-team").text) == []
    assert names(web.get("/catalog?kind=resources").text) == []
    assert '<option value="TensorRT">' in first and f'<option value="{ORG}">' in first


def test_team_space_filter(registry, flow):
    registry.add_team("vision")
    Flow(registry, registry.admin_key, space=f"org/{ORG}/team/vision").create("detector")
    flow.create("toplevel")
    web = signed_in(registry)
    assert names(web.get(f"/catalog?space={ORG}/vision").text) == [f"{ORG}/vision/detector"]
    page = web.get(f"/catalog/models/{ORG}/vision/detector")
    assert page.status_code == 200 and f"ngc registry model info {ORG}/vision/detector" in page.text


def test_model_page_renders_a_sanitised_overview_metrics_and_files(registry, flow):
    flow.create("card", description=HOSTILE, displayName="Card <Model>")
    flow.upload("card", "1", {"weights.bin": b"w" * 100, "sub/readme.txt": b"hello"}, customMetrics=METRICS,
                accuracyReached=91.5)
    page = signed_in(registry).get(f"/catalog/models/{ORG}/card").text
    assert "<h1>Card</h1>" in page and "<td>top1</td>" in page
    assert "Card &lt;Model&gt;" in page and "<Model>" not in page
    assert 'alert("pwned")' not in page and "alert(3)" not in page and "alert(4)" not in page
    assert "<script>alert" not in page and "onerror" not in page and "onmouseover" not in page
    assert 'href="javascript' not in page.lower()
    assert '<a href="https://example.com/ok" rel="noopener noreferrer nofollow">fine</a>' in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "91.5" in page
    assert "sub/readme.txt" in page and "weights.bin" in page
    assert f"ngc registry model download-version {ORG}/card:1" in page


def is_signed_url(location: str) -> bool:
    """The server's own signed storage URL, or the object store's presigned one."""
    return "/_storage/" in location or "X-Amz-Signature=" in location


def test_download_redirects_to_a_fresh_signed_url(registry, flow):
    flow.create("dl")
    flow.upload("dl", "1", {"a.txt": b"alpha", "dir/b.txt": b"beta"})
    web = signed_in(registry)
    page = web.get(f"/catalog/models/{ORG}/dl").text
    link = re.search(r'href="(/catalog/models/download\?[^"]+dir%2Fb.txt)"', page).group(1).replace("&amp;", "&")
    response = web.get(link)
    assert response.status_code == 303 and is_signed_url(response.headers["location"])
    assert registry.client.get(local(response.headers["location"])).content == b"beta"
    assert "/_storage/" not in page


def test_download_is_refused_to_guests_for_private_models(registry, flow):
    flow.create("private-dl")
    flow.upload("private-dl", "1", {"a.txt": b"alpha"})
    guest = Web(registry.client.app)
    response = guest.get(f"/catalog/models/download?resource={ORG}/private-dl&version=1&path=a.txt")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    publish(registry, "private-dl")
    assert is_signed_url(guest.get(f"/catalog/models/download?resource={ORG}/private-dl&version=1&path=a.txt"
                                   ).headers["location"])
    missing = guest.get(f"/catalog/models/download?resource={ORG}/private-dl&version=1&path=nope.txt")
    assert missing.status_code == 404 and "not found" in missing.text


def test_read_only_members_see_but_the_page_is_html_on_errors(registry, flow):
    flow.create("viewable")
    registry.add_user("reader@example.com", ["REGISTRY_READ"])
    web = signed_in(registry, "reader@example.com")
    assert web.get(f"/catalog/models/{ORG}/viewable").status_code == 200
    missing = web.get(f"/catalog/models/{ORG}/nothing-here")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert web.get("/catalog?kind=bogus").status_code == 400
