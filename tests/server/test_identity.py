"""/token, bearer tokens, keys (legacy and nvapi-), caller info, users/me, roles, products, health."""

from __future__ import annotations

import base64

from .conftest import ORG


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_token_exchange_returns_token_and_expiry(registry):
    response = registry.client.get("/token?service=ngc&", headers=_basic("$oauthtoken", registry.admin_key))
    body = response.json()
    assert response.status_code == 200
    assert body["token"] and body["expires_in"] == 3600 and body["access_token"] == body["token"]


def test_token_with_wrong_key_is_401_invalid_api_key(registry):
    response = registry.client.get("/token?service=ngc&", headers=_basic("$oauthtoken", "ngcr_wrong"))
    assert response.status_code == 401
    assert response.json()["requestStatus"]["statusDescription"] == "Invalid API key"


def test_token_accepts_email_as_username_but_not_someone_elses(registry):
    assert registry.client.get("/token", headers=_basic("admin@example.com", registry.admin_key)).status_code == 200
    assert registry.client.get("/token", headers=_basic("eve@example.com", registry.admin_key)).status_code == 401


def test_users_me_lists_org_roles(registry):
    user = registry.call("GET", "/v2/users/me", registry.admin_key).json()["user"]
    assert user["email"] == "admin@example.com" and user["starfleetId"]
    assert user["roles"] == [{"org": {"name": ORG, "displayName": ORG}, "orgRoles": ["REGISTRY_WRITE_ADMIN"],
                              "teamRoles": []}]


def test_guest_cannot_see_users_me_or_orgs(registry):
    assert registry.call("GET", "/v2/users/me").status_code == 401
    assert registry.call("GET", "/v2/orgs").status_code == 401


def test_garbage_bearer_is_rejected(registry):
    response = registry.client.get("/v2/orgs", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_rotated_key_fails_at_once_and_its_tokens_too(registry):
    old_token = registry.token(registry.admin_key)
    new_key = registry.api_key_for("admin@example.com")
    assert registry.client.get("/token", headers=_basic("$oauthtoken", registry.admin_key)).status_code == 401
    assert registry.client.get("/v2/orgs", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert registry.call("GET", "/v2/orgs", new_key).status_code == 200


def test_roles_lists_guide_and_modern_names(registry):
    names = {role["name"] for role in registry.client.get("/roles?show-hidden=true").json()["roles"]}
    assert {"REGISTRY_WRITE_ADMIN", "REGISTRY_WRITE_TEAM_ADMIN", "REGISTRY_WRITE_USER_ROLE", "REGISTRY_READ",
            "REGISTRY_ADMIN", "REGISTRY_USER", "USER_ADMIN", "REGISTRY_WRITE_ADMIN_ROLE"} <= names


def test_products_answers_200(registry):
    assert registry.client.get("/v2/products").json()["products"][0]["name"]


def test_health_reports_client_address(registry):
    body = registry.client.get("/health").json()
    assert body["status"] == "ok" and body["clientAddress"]


def _personal_key(registry, name="ci", days=30) -> dict:
    response = registry.call("POST", "/v3/keys", registry.admin_key, json={"name": name, "expiryDays": days})
    assert response.status_code == 200, response.text
    return response.json()["key"]


def test_personal_keys_work_directly_as_bearer(registry):
    key = _personal_key(registry)
    assert key["apiKey"].startswith("nvapi-") and key["expiryDate"]
    response = registry.client.get("/v2/users/me", headers={"Authorization": f"Bearer {key['apiKey']}"})
    assert response.status_code == 200


def test_several_personal_keys_are_listed_without_secrets(registry):
    _personal_key(registry, "one")
    _personal_key(registry, "two")
    listed = registry.call("GET", "/v3/keys", registry.admin_key).json()["keys"]
    assert [k["name"] for k in listed] == ["one", "two"]
    assert all("apiKey" not in k for k in listed)


def test_revoked_personal_key_stops_working(registry):
    key = _personal_key(registry)
    assert registry.call("DELETE", f"/v3/keys/{key['id']}", registry.admin_key).status_code == 200
    response = registry.client.get("/v2/users/me", headers={"Authorization": f"Bearer {key['apiKey']}"})
    assert response.status_code == 401


def test_expired_personal_key_stops_working(registry):
    from datetime import timedelta

    from ngc_registry.server.db.tables import ApiKey, utcnow

    key = _personal_key(registry)
    with registry.client.app.state.sessions.begin() as session:
        session.get(ApiKey, key["id"]).expires_at = utcnow() - timedelta(seconds=1)
    assert registry.client.post("/v3/keys/get-caller-info", data={"credentials": key["apiKey"]}).status_code == 401


def test_personal_key_expiry_is_bounded(registry):
    response = registry.call("POST", "/v3/keys", registry.admin_key, json={"name": "x", "expiryDays": 0})
    assert response.status_code == 400


def test_get_caller_info_shape(registry):
    key = _personal_key(registry)
    body = registry.client.post("/v3/keys/get-caller-info", data={"credentials": key["apiKey"]}).json()
    assert body["type"] == "PERSONAL_KEY" and body["orgName"] == ORG
    assert body["user"]["roles"][0]["orgRoles"] == ["REGISTRY_WRITE_ADMIN"]


def test_get_caller_info_with_bad_key_is_an_http_error(registry):
    assert registry.client.post("/v3/keys/get-caller-info", data={"credentials": "nvapi-nope"}).status_code == 401
