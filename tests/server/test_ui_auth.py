"""Web UI accounts: sign-in and sign-out, sessions in the database, CSRF, the rate limit, invitations and
activation links (returned, mailed, never logged), security headers, and the operator's `user set-password`."""

from __future__ import annotations

import io
import logging
import socket
import time
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from ngc_registry.server.__main__ import main as registry_main
from ngc_registry.server.app import create_app
from ngc_registry.server.services import accounts

from .conftest import ORG
from .test_ui_support import PASSWORD, Web, follow, set_password, signed_in

ADMIN = "admin@example.com"


def invite(registry, email: str, team: str | None = None) -> dict:
    where = f"/v2/org/{ORG}/team/{team}/users" if team else f"/v2/org/{ORG}/users"
    response = registry.call("POST", where, registry.admin_key,
                             json={"email": email, "name": "Invited", "roleTypes": ["REGISTRY_WRITE_USER_ROLE"]})
    assert response.status_code == 200, response.text
    return response.json()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session(registry):
    set_password(registry.client.app, ADMIN)
    web = Web(registry.client.app)
    response = web.sign_in(ADMIN)
    assert response.status_code == 303 and response.headers["location"] == "/setup"
    cookie = response.headers["set-cookie"]
    assert "ngcr_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    stolen = web.client.cookies["ngcr_session"]
    assert ADMIN in web.get("/setup").text
    assert web.post("/logout", page="/setup").status_code == 303
    other = Web(registry.client.app)
    other.client.cookies.set("ngcr_session", stolen)
    assert other.get("/setup").headers["location"].startswith("/login")


def test_cookie_is_secure_under_tls(registry):
    set_password(registry.client.app, ADMIN)
    web = Web(registry.client.app, base_url="https://testserver")
    assert "Secure" in web.sign_in(ADMIN).headers["set-cookie"]


def test_wrong_password_and_unknown_email_are_refused_alike(registry):
    set_password(registry.client.app, ADMIN)
    web = Web(registry.client.app)
    wrong = web.sign_in(ADMIN, "not the password")
    unknown = web.sign_in("nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text
    assert "ngcr_session" not in web.client.cookies


def test_a_session_is_served_by_any_replica(registry, settings):
    web = signed_in(registry)
    replica = create_app(settings)
    with TestClient(replica) as other:
        other.cookies.set("ngcr_session", web.client.cookies["ngcr_session"])
        response = other.get("/setup", follow_redirects=False)
    assert response.status_code == 200 and ADMIN in response.text


def test_forms_without_a_valid_csrf_token_are_refused(registry):
    set_password(registry.client.app, ADMIN)
    web = Web(registry.client.app)
    web.get("/login")
    missing = web.client.post("/login", data={"email": ADMIN, "password": PASSWORD})
    forged = web.client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf": "0" * 64})
    assert missing.status_code == forged.status_code == 403
    assert "ngcr_session" not in web.client.cookies
    web = signed_in(registry)
    assert web.client.post("/setup/api-key", data={}).status_code == 403
    token = web.csrf("/setup")
    cross_site = web.client.post("/setup/api-key", data={"csrf": token}, headers={"origin": "https://evil.example"})
    assert cross_site.status_code == 403


def test_a_token_from_another_browser_does_not_work(registry):
    web, attacker = signed_in(registry), Web(registry.client.app)
    token = attacker.csrf("/login")
    assert web.client.post("/setup/api-key", data={"csrf": token}).status_code == 403


def test_sign_in_is_rate_limited_in_the_database(registry, settings):
    set_password(registry.client.app, ADMIN)
    web = Web(registry.client.app)
    for _ in range(settings.sign_in_max_failures):
        assert web.sign_in(ADMIN, "wrong password!").status_code == 401
    limited = web.sign_in(ADMIN)
    assert limited.status_code == 429 and "Too many failed sign-ins" in limited.text
    with TestClient(create_app(settings)) as replica:
        other = Web(replica.app)
        assert other.sign_in(ADMIN).status_code == 429


def test_rate_limit_window_passes(registry):
    limit = accounts.RateLimit(max_failures=2, window_seconds=1)
    with registry.client.app.state.sessions.begin() as session:
        for _ in range(2):
            accounts.record_failure(session, limit, ADMIN, "10.0.0.1")
        assert accounts.retry_after(session, limit, ADMIN, "10.0.0.1") > 0
        assert accounts.retry_after(session, limit, "other@example.com", "10.0.0.2") == 0
    time.sleep(1.1)
    with registry.client.app.state.sessions.begin() as session:
        assert accounts.retry_after(session, limit, ADMIN, "10.0.0.1") == 0


def test_invitation_returns_a_one_time_activation_link(registry, caplog):
    caplog.set_level(logging.INFO, logger="ngc_registry.accounts")
    body = invite(registry, "new@example.com")
    link = body["activationUrl"]
    assert body["invited"] is True and link.startswith("http://testserver/activate?token=")
    assert "new@example.com" in caplog.text and link.split("=", 1)[1] not in caplog.text  # a credential
    assert "activationUrl" not in invite(registry, "new@example.com", team=registry.add_team("t1")["name"])
    web = Web(registry.client.app)
    assert "new@example.com" in web.get(local(link)).text
    mismatch = web.post("/activate", {"token": local(link).split("=", 1)[1], "password": PASSWORD,
                                      "confirm": "something else"}, page=local(link))
    assert mismatch.status_code == 400 and "different" in mismatch.text
    short = web.post("/activate", {"token": local(link).split("=", 1)[1], "password": "short", "confirm": "short"},
                     page=local(link))
    assert short.status_code == 400 and "10 to 256 characters" in short.text
    done = web.post("/activate", {"token": local(link).split("=", 1)[1], "password": PASSWORD, "confirm": PASSWORD},
                    page=local(link))
    assert done.headers["location"] == "/setup/api-key"
    assert "new@example.com" in follow(web, done).text
    again = Web(registry.client.app).get(local(link))
    assert again.status_code == 404 and "not valid" in again.text
    assert Web(registry.client.app).sign_in("new@example.com").status_code == 303


def test_a_new_activation_link_replaces_the_old_one(registry):
    first = invite(registry, "twice@example.com")["activationUrl"]
    web = signed_in(registry)
    user_id = registry.call("GET", f"/v2/org/{ORG}/users/twice@example.com", registry.admin_key).json()["user"]["id"]
    page = web.post(f"/admin/{ORG}/users/{user_id}/activation", page=f"/admin/{ORG}/users")
    second = page.text.split('id="invitation-link">', 1)[1].split("<", 1)[0].replace("&amp;", "&")
    assert second != first and second.startswith("http://testserver/activate?token=")
    assert Web(registry.client.app).get(local(first)).status_code == 404
    assert Web(registry.client.app).get(local(second)).status_code == 200


def test_invitation_is_mailed_when_smtp_is_configured(registry, settings):
    controller_module = pytest.importorskip("aiosmtpd.controller")
    inbox = Inbox()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_from="registry@example.com")
        with TestClient(create_app(mailing)) as client:
            response = client.post(f"/v2/org/{ORG}/users", headers=registry.headers(registry.admin_key),
                                   json={"email": "mailed@example.com", "roleTypes": ["REGISTRY_READ"]})
        link = response.json()["activationUrl"]
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and inbox.messages[0]["to"] == ["mailed@example.com"]
    assert link in inbox.messages[0]["body"] and inbox.messages[0]["from"] == "registry@example.com"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"to": envelope.rcpt_tos, "from": envelope.mail_from,
                              "body": envelope.content.decode(errors="replace")})
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pages_carry_security_headers_and_no_inline_script(registry):
    web = signed_in(registry)
    pages = ("/catalog", "/setup", "/setup/api-key", "/setup/keys", "/setup/cli", "/admin", f"/admin/{ORG}/users",
             f"/admin/{ORG}/teams", f"/admin/{ORG}/audit")
    for path in pages + ("/login",):
        if path == "/login":
            web = Web(registry.client.app)
        response = web.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        scripts = response.text.count("<script")
        assert scripts == response.text.count('<script src="/static/app.js'), path
        assert " on" + "click=" not in response.text
    assert web.get("/static/app.css").headers["x-content-type-options"] == "nosniff"


def test_login_next_never_leaves_the_site(registry):
    set_password(registry.client.app, ADMIN)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        web = Web(registry.client.app)
        response = web.post("/login", {"email": ADMIN, "password": PASSWORD, "next": target}, page="/login")
        assert response.headers["location"] == "/", target


def test_operator_sets_a_password_from_stdin(registry, settings, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("operator chosen password\n"))
    args = ["user", "set-password", "--data-dir", str(settings.data_dir), ADMIN]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    assert registry_main(args) == 0
    assert "Password set for admin@example.com" in capsys.readouterr().out
    assert Web(registry.client.app).sign_in(ADMIN, "operator chosen password").status_code == 303
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert registry_main(args) == 2
    assert "10 to 256 characters" in capsys.readouterr().err
