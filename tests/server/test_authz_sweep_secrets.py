"""Secrets and who may see what happened: credentials never in logs, URLs or error bodies, compared in constant time,
guessing at `/token` rate-limited per client and per account, and the audit log (who, what, when, from where)
readable by org admins only."""

from __future__ import annotations

import dataclasses
import hmac
import logging
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from ngc_registry.server.app import create_app
from ngc_registry.server.auth import signed_urls
from ngc_registry.server.routes import ui_security
from ngc_registry.server.services import keys

from .conftest import ORG, Registry
from .oci_support import basic


@pytest.fixture
def strict(settings):
    """A registry whose /token allows 3 failures per account and 5 per client in the window."""
    from ngc_registry.server.services.bootstrap import initialise

    done = initialise(settings, ORG, "admin@example.com", "Admin")
    app = create_app(dataclasses.replace(settings, token_max_failures=3, token_client_max_failures=5))
    with TestClient(app) as client:
        yield Registry(client=client, admin_key=done.api_key)


def token_status(registry, user: str, key: str) -> int:
    return registry.client.get("/token?service=ngc", headers=basic(key, user)).status_code


def test_guessing_at_token_is_limited_per_account_then_per_client(strict):
    for _ in range(3):
        assert token_status(strict, "admin@example.com", "ngcr_wrong") == 401
    limited = strict.client.get("/token", headers=basic("ngcr_wrong", "admin@example.com"))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert limited.json()["requestStatus"]["statusCode"] == "RATE_LIMITED"
    assert token_status(strict, "admin@example.com", strict.admin_key) == 429  # the account waits, even right
    assert token_status(strict, "$oauthtoken", strict.admin_key) == 200  # the key itself, with no account named
    assert token_status(strict, "$oauthtoken", "ngcr_wrong") == 401
    assert token_status(strict, "$oauthtoken", "ngcr_wrong") == 401  # 5 failures from this client now
    assert token_status(strict, "$oauthtoken", strict.admin_key) == 429
    caller = strict.client.post("/v3/keys/get-caller-info", data={"credentials": strict.admin_key})
    assert caller.status_code == 429


def test_guessing_at_caller_info_is_limited_too(strict):
    """get-caller-info reads on the event loop on SQLite (deps.reads_only): its failures still count, at once."""
    for _ in range(5):
        assert strict.client.post("/v3/keys/get-caller-info", data={"credentials": "ngcr_wrong"}).status_code == 401
    caller = strict.client.post("/v3/keys/get-caller-info", data={"credentials": strict.admin_key})
    assert caller.status_code == 429, caller.text
    assert token_status(strict, "$oauthtoken", strict.admin_key) == 429


def test_failures_from_other_clients_and_accounts_do_not_count(strict):
    for _ in range(3):
        assert token_status(strict, "someone@example.com", "ngcr_wrong") == 401
    assert token_status(strict, "admin@example.com", strict.admin_key) == 200


def test_the_audit_says_who_did_what_when_and_from_where_to_org_admins_only(registry):
    reader = registry.add_user("reader@example.com", ["REGISTRY_READ"])
    user_admin = registry.add_user("useradmin@example.com", ["USER_ADMIN"])
    key = registry.admin_key
    registry.call("POST", f"/v2/org/{ORG}/models", key, json={"name": "audited"})
    registry.call("POST", f"/v2/org/{ORG}/models/audited/versions", key, json={"versionId": "1"})
    registry.call("POST", "/v3/keys", key, json={"name": "ci", "org": ORG})
    events = registry.call("GET", f"/v2/org/{ORG}/audit", key).json()["auditEvents"]
    actions = {event["action"]: event for event in events}
    assert {"models.create", "models.version.create", "personal_key.create", "role.grant"} <= set(actions)
    created = actions["models.create"]
    assert created["actor"] == "admin@example.com" and created["target"] == f"{ORG}/audited"
    assert created["clientAddress"] == "testclient" and created["createdDate"]
    for denied in (reader, user_admin):
        assert registry.call("GET", f"/v2/org/{ORG}/audit", denied).status_code == 403
    assert registry.call("GET", f"/v2/org/{ORG}/audit", None).status_code == 401


def secrets_of_a_session(registry, caplog) -> tuple[list[str], list]:
    """Run a session that handles every kind of secret; return the secrets and every answer."""
    key, answers = registry.admin_key, []
    bearer = registry.token(key)
    personal = registry.call("POST", "/v3/keys", key, json={"name": "ci", "org": ORG}).json()["key"]["apiKey"]
    invited = registry.call("POST", f"/v2/org/{ORG}/users", key, json={"email": "new@example.com"}).json()
    activation = invited["activationUrl"].split("token=", 1)[1]
    registry.call("POST", f"/v2/org/{ORG}/models", key, json={"name": "m"})
    registry.call("POST", f"/v2/org/{ORG}/models/m/versions", key, json={"versionId": "1"})
    started = registry.call("POST", f"/v2/org/{ORG}/files/multipart", key, json={
        "name": "m", "version": "1", "filePath": "a.bin", "size": 1}).json()
    signed = urlsplit(started["urls"][0]).path
    answers.append(registry.client.put(signed, content=b"x"))
    answers.append(registry.client.put(signed[:-2] + "xx", content=b"x"))
    for wrong in (key + "x", key[:-1], personal + "x", bearer + "x", "ngcr_" + "a" * 54):
        answers.append(registry.client.get("/v2/users/me", headers={"Authorization": f"Bearer {wrong}"}))
        answers.append(registry.client.get("/token", headers=basic(wrong)))
        answers.append(registry.client.get("/v2/", headers=basic(wrong)))
    answers.append(registry.client.post("/v3/keys/get-caller-info", data={"credentials": key + "x"}))
    return [key, bearer, personal, activation, signed.rsplit("/", 1)[1]], answers


@pytest.mark.filesystem_store  # looks at the store's files / at every log record (boto's debug)
def test_secrets_never_appear_in_logs_or_answers(registry, caplog):
    caplog.set_level(logging.DEBUG)
    secrets, answers = secrets_of_a_session(registry, caplog)
    server = [record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in server)
    for secret in secrets:
        assert secret[-24:] not in logged  # not even a recognisable part (a JWT's start is the same for all)
    for answer in answers:
        assert answer.status_code in (200, 401, 403), answer.text
        assert not any(secret[-24:] in answer.text or secret[-24:] in str(answer.headers) for secret in secrets)


def test_secrets_are_compared_in_constant_time(registry, monkeypatch):
    compared = []
    original = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(1) or original(a, b))
    with registry.client.app.state.sessions.begin() as session:
        keys.resolve_key(session, registry.admin_key)
    assert compared, "API keys"
    compared.clear()
    assert ui_security.csrf_valid("secret", "binding", ui_security.csrf_token("secret", "binding"))
    assert ui_security.decode_flash("secret", ui_security.encode_flash("secret", "info", "hi"))
    assert len(compared) == 2, "CSRF tokens and signed flash messages"
    compared.clear()
    signed_urls.verify("secret", signed_urls.sign("secret", "GET", {"d": "x"}, 60), "GET")  # PyJWT: compare_digest
    assert compared, "signed storage URLs"
