"""The web UI's defences: cookies, CSRF tokens, signed flash messages, safe redirects and security headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from fastapi import Request
from starlette.responses import Response

SESSION_COOKIE = "ngcr_session"
BROWSER_COOKIE = "ngcr_browser"  # binds CSRF tokens of signed-out forms (sign-in, activation) to this browser
FLASH_COOKIE = "ngcr_flash"

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")
HTML_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),  # pages may show a secret once: never keep them
]
COMMON_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]


def _mac(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(secret: str, binding: str) -> str:
    """The token every form carries: bound to the session (signed in) or to the browser cookie (signed out)."""
    return _mac(secret, "csrf", binding)


def csrf_valid(secret: str, binding: str | None, token: str | None) -> bool:
    return bool(binding and token) and hmac.compare_digest(csrf_token(secret, binding), token)


def new_browser_id() -> str:
    return secrets.token_urlsafe(24)


def same_origin(request: Request, public_url: str = "") -> bool:
    """A form post from another site is refused even before its token is checked (when the browser says so).

    `public_url` is the address users reach when a proxy stands in front (it may terminate TLS)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    allowed = {f"{request.url.scheme}://{request.url.netloc}", public_url.rstrip("/")}
    return origin.rstrip("/") in allowed


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def encode_flash(secret: str, level: str, text: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps([level, text[:500]]).encode()).decode()
    return f"{payload}.{_mac(secret, 'flash', payload)}"


def decode_flash(secret: str, value: str | None) -> tuple[str, str] | None:
    """A message set by the previous response; None when absent or not signed by this server."""
    payload, _, mac = (value or "").partition(".")
    if not payload or not hmac.compare_digest(_mac(secret, "flash", payload), mac):
        return None
    try:
        level, text = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return None
    return str(level), str(text)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form; never another site (`//host`, `/\\host`, `https://...`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 32 for ch in target):
        return default
    return target


def referer_path(request: Request, default: str = "/") -> str:
    """Where a form came from, when the browser says and it is this site."""
    referer = request.headers.get("referer", "")
    prefix = f"{request.url.scheme}://{request.url.netloc}"
    if not referer.startswith(prefix + "/"):
        return default
    return safe_next(referer[len(prefix):], default)


class SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every HTML response, and nosniff to static files."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    headers.extend(HTML_HEADERS + COMMON_HEADERS)
                elif scope["path"].startswith("/static/"):
                    headers.extend(COMMON_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
