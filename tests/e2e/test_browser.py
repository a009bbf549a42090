"""The web UI in a real browser (Debian's Chromium driven by Playwright) against a real server process: invitation,
activation, sign-in, Setup → API Key with the `ngc` CLI, and administration.

Screenshots go to $NGC_SCREENSHOTS (the README's come from `NGC_SCREENSHOTS=docs/screenshots`), else a temp dir.
Without Chromium or Playwright these tests are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import ADMIN_EMAIL, BIN, init_registry, run, start_server

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("NGC_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ADMIN_PASSWORD = "admin password for tests"
WIDE, NARROW = {"width": 1280, "height": 860}, {"width": 390, "height": 844}


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"The browser tests need Chromium and Playwright in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A server of this module's own (its keys are rotated here), with the admin's web password set."""
    data_dir = tmp_path_factory.mktemp("web") / "data"
    server = start_server(data_dir, init_registry(data_dir))
    done = run(str(BIN / "ngc-registry"), "user", "set-password", "--data-dir", str(data_dir), ADMIN_EMAIL,
               input=ADMIN_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=WIDE, accept_downloads=True)
    opened = context.new_page()
    opened.on("dialog", lambda dialog: dialog.accept())
    yield opened
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("NGC_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, shots: Path, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=full_page)


def sign_in(page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    assert page.locator(".who").inner_text() == email


def admin_call(registry, method: str, path: str, **kwargs) -> dict:
    basic = httpx.BasicAuth("$oauthtoken", registry.admin_key)
    token = httpx.get(f"{registry.url}/token", params={"service": "ngc"}, auth=basic).json()["token"]
    response = httpx.request(method, f"{registry.url}{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def activate(page, link: str, password: str) -> None:
    page.goto(link)
    page.fill("input[name=password]", password)
    page.fill("input[name=confirm]", password)
    page.click("button:has-text('Set password')")
    page.wait_for_url(re.compile(r".*/setup/api-key$"))


def generate_api_key(page, url: str) -> str:
    page.goto(f"{url}/setup")
    page.click("a.card:has-text('API Key')")
    page.click("text=Generate API Key")
    assert "old API key will become invalid" in page.inner_text(".warning")
    page.click("button:has-text('CONTINUE')")
    return page.inner_text("#api-key").strip()


def test_invitation_to_working_ngc_config_through_the_web_pages(registry, page, ngc, shots):
    email = unique_email("dev")
    invited = admin_call(registry, "POST", f"/v2/org/{registry.org}/users",
                         json={"email": email, "name": "Dev User", "roleTypes": ["REGISTRY_WRITE_USER_ROLE"]})
    assert invited["invited"] is True and "/activate?token=" in invited["activationUrl"]
    old_key = registry.new_key(email)
    activate(page, invited["activationUrl"], "a long dev password")
    assert "Your password is set" in page.inner_text(".flash")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=registry.url)
    new_key = generate_api_key(page, registry.url)
    assert new_key.startswith("ngcr_") and new_key != old_key
    page.click("button[data-copy=api-key]")
    assert page.evaluate("navigator.clipboard.readText()") == new_key
    assert "ngc config set" in page.inner_text("#cmd-config")
    assert page.inner_text("#cmd-docker") == f"docker login {registry.url.split('://')[1]} -u '$oauthtoken'"
    screenshot(page, shots, "api-key")

    refused = httpx.get(f"{registry.url}/token", auth=httpx.BasicAuth("$oauthtoken", old_key))
    assert refused.status_code == 401
    who = ngc("user", "who", "--format_type", "json", key=new_key)
    assert who.returncode == 0, who.stderr
    assert email in who.stdout
    page.goto(f"{registry.url}/setup/api-key")
    assert new_key not in page.content()


def test_admin_invites_a_user_who_activates_and_signs_in(registry, browser, page, shots):
    sign_in(page, registry.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.click("nav >> text=Admin")
    page.click("text=Users and roles")
    email = unique_email("newcomer")
    page.fill("form[action$='/users'] input[name=email]", email)
    page.fill("form[action$='/users'] input[name=name]", "New Comer")
    page.click("button:has-text('Invite')")
    link = page.inner_text("#invitation-link").strip()
    assert link.startswith(registry.url + "/activate?token=")
    assert email in page.inner_text("table.members")
    screenshot(page, shots, "admin-users")

    newcomer = browser.new_context(viewport=NARROW).new_page()
    activate(newcomer, link, "newcomer password 1")
    newcomer.click("button:has-text('Sign out')")
    newcomer.goto(link)
    assert "not valid" in newcomer.inner_text("main")
    sign_in_without_menu(newcomer, registry.url, email, "newcomer password 1")
    assert newcomer.url.endswith("/catalog")
    screenshot(newcomer, shots, "catalog-narrow", full_page=False)
    newcomer.context.close()

    page.goto(f"{registry.url}/admin/{registry.org}/audit")
    assert "role.grant" in page.inner_text("table")


def sign_in_without_menu(page, url: str, email: str, password: str) -> None:
    """On a narrow window the email is hidden from the top bar; check the Setup link instead."""
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    assert page.locator("nav >> text=Setup").is_visible()


def test_personal_key_created_listed_and_revoked(registry, page):
    sign_in(page, registry.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{registry.url}/setup/keys")
    page.fill("input[name=name]", "browser-ci")
    page.click("button:has-text('Create key')")
    secret = page.inner_text("#personal-key").strip()
    assert secret.startswith("nvapi-")
    me = httpx.get(f"{registry.url}/v2/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    page.goto(f"{registry.url}/setup/keys")
    assert secret not in page.content() and f"…{secret[-4:]}" in page.inner_text("table")
    page.click("tr:has-text('browser-ci') >> button:has-text('Revoke')")
    assert "revoked" in page.inner_text(".flash")
    assert httpx.get(f"{registry.url}/v2/users/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_wrong_password_is_refused_and_pages_load_no_inline_script(registry, page, shots):
    page.goto(f"{registry.url}/login")
    screenshot(page, shots, "sign-in", full_page=False)
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", "not the password")
    page.click("button:has-text('Sign in')")
    assert "Wrong email or password" in page.inner_text("[role=alert]")
    scripts = page.eval_on_selector_all("script", "nodes => nodes.map(n => [n.src, n.textContent])")
    assert all(src.startswith(registry.url + "/static/") and not text for src, text in scripts)
