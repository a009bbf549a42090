"""Setup pages: Generate API Key (guide §3.1), personal keys, Install CLI."""

from __future__ import annotations

import base64
import re

from ngc_registry.server.services import orgs

from .conftest import ORG
from .test_ui_support import Web, follow, signed_in

KEY = re.compile(r'<code id="api-key">([^<]+)</code>')
PERSONAL = re.compile(r'<code id="personal-key">([^<]+)</code>')


def token_status(registry, key: str) -> int:
    basic = base64.b64encode(f"$oauthtoken:{key}".encode()).decode()
    return registry.client.get("/token?service=ngc", headers={"Authorization": f"Basic {basic}"}).status_code


def test_setup_needs_a_signed_in_user(registry):
    web = Web(registry.client.app)
    for path in ("/setup", "/setup/api-key", "/setup/keys"):
        response = web.get(path)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"
    assert web.get("/setup/cli").status_code == 200


def test_generate_api_key_warns_then_shows_the_key_once(registry):
    web = signed_in(registry)
    intro = web.get("/setup/api-key").text
    assert "Generate API Key" in intro and "already have an API key" in intro
    confirm = web.get("/setup/api-key?step=confirm").text
    assert "old API key will become invalid" in confirm and "CONTINUE" in confirm
    shown = web.post("/setup/api-key", page="/setup/api-key?step=confirm")
    assert shown.status_code == 200
    key = KEY.search(shown.text).group(1)
    assert "ngc config set" in shown.text and "docker login testserver -u &#39;$oauthtoken&#39;" in shown.text
    assert "export NGC_CLI_API_URL=http://testserver" in shown.text and 'data-copy="api-key"' in shown.text
    assert token_status(registry, registry.admin_key) == 401
    assert token_status(registry, key) == 200
    assert key not in web.get("/setup/api-key").text and key not in web.get("/setup").text


def test_personal_keys_create_list_revoke(registry):
    web = signed_in(registry)
    created = web.post("/setup/keys", {"name": "ci <nightly>", "org": ORG, "expiry_days": "30"})
    assert created.status_code == 200 and "ci &lt;nightly&gt;" in created.text and "<nightly>" not in created.text
    secret = PERSONAL.search(created.text).group(1)
    assert registry.call("GET", "/v2/users/me", secret).status_code == 200
    listing = web.get("/setup/keys").text
    assert secret not in listing and f"…{secret[-4:]}" in listing
    key_id = registry.call("GET", "/v3/keys", registry.admin_key).json()["keys"][0]["id"]
    revoked = web.post(f"/setup/keys/{key_id}/revoke", page="/setup/keys")
    assert "is revoked" in follow(web, revoked).text
    assert registry.call("GET", "/v2/users/me", secret).status_code == 401


def test_personal_key_form_errors_come_back_to_the_form(registry):
    web = signed_in(registry)
    response = web.post("/setup/keys", {"name": "x", "org": ORG, "expiry_days": "99999"})
    assert response.status_code == 303 and response.headers["location"] == "/setup/keys"
    assert "between 1 and 3650 days" in follow(web, response).text


def test_personal_key_for_an_org_the_user_is_not_in_is_refused(registry):
    with registry.client.app.state.sessions.begin() as session:
        orgs.create_org(session, "other")  # it exists, but the member holds no role in it
    registry.add_user("member@example.com", ["REGISTRY_WRITE_USER_ROLE"])
    web = signed_in(registry, "member@example.com")
    response = web.post("/setup/keys", {"name": "x", "org": "other", "expiry_days": "30"}, page="/setup/keys")
    assert response.status_code == 403


def test_revoking_someone_elses_key_is_not_found(registry):
    secret = registry.call("POST", "/v3/keys", registry.admin_key, json={"name": "admins", "org": ORG}).json()
    key_id = secret["key"]["id"]
    registry.add_user("member@example.com", ["REGISTRY_WRITE_USER_ROLE"])
    web = signed_in(registry, "member@example.com")
    response = web.post(f"/setup/keys/{key_id}/revoke", page="/setup/keys")
    assert "not found" in follow(web, response).text
    assert registry.call("GET", "/v2/users/me", secret["key"]["apiKey"]).status_code == 200


def test_install_cli_page_offers_wheels_from_the_downloads_folder(registry, settings):
    web = Web(registry.client.app)
    assert "pip install ngc-registry" in web.get("/setup/cli").text
    settings.downloads_dir.mkdir(parents=True, exist_ok=True)
    (settings.downloads_dir / "ngc_registry-0.1.0-py3-none-any.whl").write_bytes(b"PK wheel")
    page = web.get("/setup/cli").text
    assert "pip install http://testserver/setup/cli/files/ngc_registry-0.1.0-py3-none-any.whl" in page
    assert web.get("/setup/cli/files/ngc_registry-0.1.0-py3-none-any.whl").content == b"PK wheel"
    assert web.get("/setup/cli/files/..%2Fregistry.db").status_code == 404
