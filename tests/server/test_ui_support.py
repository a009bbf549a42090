"""Helpers for the web UI's server tests: a browser-like client (cookies, CSRF tokens from the pages) and accounts."""

from __future__ import annotations

import re


from ngc_registry.server.services import accounts, users

from .conftest import AppClient

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "a good long password"


class Web:
    """One browser: its own cookie jar; forms are posted with the CSRF token of the page they are on."""

    def __init__(self, app, base_url: str = "http://testserver"):
        self.base_url = base_url
        self.client = AppClient(app, base_url=base_url, follow_redirects=False)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def csrf(self, page: str) -> str:
        response = self.get(page)
        assert response.status_code == 200, response.text
        return CSRF.search(response.text).group(1)

    def post(self, path: str, data: dict | None = None, page: str | None = None, **kwargs):
        """Submit a form found on `page` (default: the form's own path)."""
        page = page or path
        body = {"csrf": self.csrf(page), **(data or {})}
        return self.client.post(path, data=body, headers={"referer": self.base_url + page}, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD):
        return self.post("/login", {"email": email, "password": password, "next": "/setup"})


def set_password(app, email: str, password: str = PASSWORD) -> None:
    with app.state.sessions.begin() as session:
        accounts.set_password(session, users.find_user(session, email), password)


def signed_in(registry, email: str = "admin@example.com") -> Web:
    """A browser signed in as this user (its password set first)."""
    set_password(registry.client.app, email)
    web = Web(registry.client.app)
    assert web.sign_in(email).status_code == 303
    return web


def follow(web: Web, response):
    assert response.status_code == 303, response.text
    return web.get(response.headers["location"])
