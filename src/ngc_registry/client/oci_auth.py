"""Docker-style registry auth: read the `WWW-Authenticate` challenge, get a bearer token per scope from its realm.

The API key goes to the realm as Basic `$oauthtoken:<key>`, and only when the realm is on the registry's own host;
without a key the token is asked for anonymously (public repositories). A registry that challenges with Basic
gets the same credentials on every request instead.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from ..errors import InvalidApiKeyError, UnauthorizedError, error_from_wire
from .http import basic_auth_header, response_json

DEFAULT_TOKEN_SECONDS = 60
RENEW_BEFORE_SECONDS = 10
_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')

Scopes = tuple[str, ...]


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" | "basic" | "none" (the registry wants no auth)
    params: dict = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


NO_AUTH = Challenge("none")


def parse_challenge(header: str | None) -> Challenge | None:
    """`Bearer realm="...",service="...",scope="..."` → Challenge; None for an empty or unknown header."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "basic"):
        return None
    params = {key.lower(): (quoted if quoted or not bare else bare) for key, quoted, bare in _PARAM_RE.findall(rest)}
    return Challenge(scheme.lower(), params)


def repository_scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


def same_host(url: str, base_url: str) -> bool:
    return urlsplit(url).netloc.lower() == urlsplit(base_url).netloc.lower()


class RegistryAuth:
    """Authorization headers by scope, with bearer tokens cached in memory until shortly before they expire."""

    def __init__(self, client: httpx.Client, base_url: str, api_key: str | None,
                 debug_log: Callable[[str], None] | None = None):
        self._client = client
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or None
        self._debug_log = debug_log
        self._challenge: Challenge | None = None
        self._tokens: dict[Scopes, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def headers(self, scopes: Scopes) -> dict[str, str]:
        challenge = self._known_challenge()
        if challenge.scheme == "basic" or (challenge.scheme == "none" and self.api_key):
            return {"Authorization": basic_auth_header(self.api_key)} if self.api_key else {}
        if challenge.scheme == "none":
            return {}
        return {"Authorization": f"Bearer {self._token(scopes, challenge)}"}

    def refresh_after(self, response: httpx.Response, scopes: Scopes) -> bool:
        """After a 401: learn its challenge, forget the token used; True when sending again may succeed."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate"))
        with self._lock:
            self._tokens.pop(scopes, None)
            if challenge is None or challenge == self._challenge:
                return challenge is not None and challenge.scheme == "bearer"
            self._challenge = challenge
        return True

    def _known_challenge(self) -> Challenge:
        with self._lock:
            if self._challenge is None:
                self._challenge = self._probe()
            return self._challenge

    def _probe(self) -> Challenge:
        """`GET /v2/` without credentials: 401 carries the challenge, anything else means none is needed."""
        response = self._client.get(f"{self.base_url}/v2/")
        self._log(f"GET {response.request.url} -> {response.status_code}")
        if response.status_code == 401:
            return parse_challenge(response.headers.get("WWW-Authenticate")) or Challenge("basic")
        return NO_AUTH

    def _token(self, scopes: Scopes, challenge: Challenge) -> str:
        with self._lock:
            cached = self._tokens.get(scopes)
            if cached and cached[1] > time.monotonic():
                return cached[0]
        token, lifetime = self._fetch_token(scopes, challenge)
        with self._lock:
            self._tokens[scopes] = (token, time.monotonic() + max(lifetime - RENEW_BEFORE_SECONDS, 1))
        return token

    def _fetch_token(self, scopes: Scopes, challenge: Challenge) -> tuple[str, float]:
        if not challenge.realm:
            raise UnauthorizedError("The registry asked for a bearer token but named no token service (realm).")
        realm = urljoin(self.base_url + "/", challenge.realm)
        params = [("service", challenge.params["service"])] if challenge.params.get("service") else []
        params += [("scope", scope) for scope in scopes]
        send_key = self.api_key and same_host(realm, self.base_url)
        headers = {"Authorization": basic_auth_header(self.api_key)} if send_key else {}
        response = self._client.get(realm, params=params, headers=headers)
        self._log(f"GET {response.request.url} -> {response.status_code}")
        if response.status_code == 401:
            raise (InvalidApiKeyError("Invalid API key: the registry's token service refused it.") if send_key
                   else UnauthorizedError("Authentication required: configure an API key with 'ngc config set'."))
        if response.status_code >= 400:
            raise error_from_wire(response.status_code, None, f"The registry's token service answered HTTP "
                                                              f"{response.status_code}.")
        return _token_from(response_json(response))

    def _log(self, text: str) -> None:
        if self._debug_log:
            self._debug_log(text)


def _token_from(body: dict) -> tuple[str, float]:
    token = body.get("token") or body.get("access_token")
    if not isinstance(token, str) or not token:
        raise error_from_wire(502, "INTERNAL_ERROR", "The registry's token response has no token.")
    try:
        lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
    except (TypeError, ValueError):
        lifetime = DEFAULT_TOKEN_SECONDS
    return token, lifetime
