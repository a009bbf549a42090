"""HTTP session to one registry server: base URL, NGC authentication and typed errors.

Three ways to authenticate, chosen from the key:
- legacy API key: exchanged at `GET /token` (Basic `$oauthtoken:<key>`) for a bearer token, cached on disk;
- `nvapi-` personal key: sent as the bearer token itself;
- no key: guest mode, `X-NGC-Guest-Token: <uuid4>`.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any, Callable

import httpx

from .. import __version__
from ..errors import (ConfigError, ConnectionFailedError, InvalidApiKeyError, RegistryError, UnauthorizedError,
                      error_from_wire)
from .tokens import TokenCache, is_personal_key, token_cache_key

USER_AGENT = f"ngc-registry-cli/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

Scope = tuple[str | None, str | None]
UNSCOPED: Scope = (None, None)


def basic_auth_header(api_key: str) -> str:
    return "Basic " + base64.b64encode(f"$oauthtoken:{api_key}".encode()).decode()


def token_scopes(org: str | None, team: str | None) -> list[str]:
    """`/token` scopes: the org, then the org's team, as NGC's production environment names them."""
    if not org:
        return []
    return [f"group/ngc:{org}"] + ([f"group/ngc:{org}/{team}"] if team else [])


class Session:
    """A sync HTTP session; `request` returns the response or raises the typed `RegistryError` it carries."""

    def __init__(self, base_url: str, api_key: str | None = None, *, org: str | None = None,
                 team: str | None = None, token_cache: TokenCache | None = None,
                 timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, debug_log: Callable[[str], None] | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or None
        self.org = org
        self.team = team
        self.tokens = token_cache or TokenCache()
        self._guest_token = str(uuid.uuid4())
        self._debug_log = debug_log
        # An http:// API URL never leads to TLS (redirects are not followed): no CA bundle to load (~30 ms).
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False,
                                    verify=not self.base_url.lower().startswith("http://"),
                                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"})

    @property
    def is_guest(self) -> bool:
        return self.api_key is None

    @property
    def exchanges_key_for_token(self) -> bool:
        return self.api_key is not None and not is_personal_key(self.api_key)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None, data: Any = None,
                scope: Scope = UNSCOPED, authenticate: bool = True, accept_statuses: tuple[int, ...] = (),
                headers: dict[str, str] | None = None) -> httpx.Response:
        """Send one request; on a 401 with a cached token, drop it, fetch a new one and resend once."""
        if authenticate and self.is_guest and method.upper() not in ("GET", "HEAD"):
            raise UnauthorizedError("This command needs an API key: run 'ngc config set' or set NGC_CLI_API_KEY.")

        def send() -> httpx.Response:
            auth = self.auth_headers(scope) if authenticate else {}
            return self._send(method, path, params=params, json=json, data=data, headers={**auth, **(headers or {})})

        response = send()
        if response.status_code == 401 and authenticate and self.exchanges_key_for_token:
            self.tokens.drop(self._cache_key(scope))
            response = send()
        if response.status_code >= 400 and response.status_code not in accept_statuses:
            raise error_from_response(response)
        return response

    def request_json(self, method: str, path: str, **kwargs) -> dict:
        return response_json(self.request(method, path, **kwargs))

    def fetch_token(self, org: str | None = None, team: str | None = None) -> dict:
        """Exchange the legacy key for a bearer token (no cache lookup); 401 means the key is invalid."""
        if not self.exchanges_key_for_token:
            raise ConfigError("Only a legacy API key is exchanged for a token.")
        params = [("service", "ngc")] + [("scope", scope) for scope in token_scopes(org, team)]
        response = self._send("GET", "/token", params=params, headers={"Authorization": basic_auth_header(self.api_key)})
        if response.status_code == 401:
            raise InvalidApiKeyError("Invalid API key")
        if response.status_code >= 400:
            raise error_from_response(response)
        body = response_json(response)
        if not isinstance(body.get("token"), str):
            raise error_from_wire(502, "INTERNAL_ERROR", "The token response from the server has no token.")
        self.tokens.put(self._cache_key((org, team)), body["token"], body.get("expires_in"))
        return body

    # -- internals ------------------------------------------------------------------------------------------

    def _cache_key(self, scope: Scope) -> str:
        return token_cache_key(self.api_key or "", *scope)

    def _bearer_token(self, scope: Scope) -> str:
        if is_personal_key(self.api_key):
            return self.api_key
        return self.tokens.get(self._cache_key(scope)) or self.fetch_token(*scope)["token"]

    def auth_headers(self, scope: Scope) -> dict[str, str]:
        if self.is_guest:
            return {"X-NGC-Guest-Token": self._guest_token}
        headers = {"Authorization": f"Bearer {self._bearer_token(scope)}"}
        if self.org:
            headers["nv-ngc-org"] = self.org
        if self.org and self.team:
            headers["nv-ngc-team"] = self.team
        return headers

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        started = time.monotonic()
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"Invalid API URL '{self.base_url}': {exc}.") from exc
        except httpx.UnsupportedProtocol as exc:
            raise ConfigError(f"Invalid API URL '{self.base_url}': use http:// or https://.") from exc
        except httpx.TransportError as exc:
            raise connection_failed(self.base_url, exc) from exc
        if self._debug_log:
            elapsed_ms = (time.monotonic() - started) * 1000
            self._debug_log(f"{method} {response.request.url} -> {response.status_code} ({elapsed_ms:.0f} ms)")
        return response


def connection_failed(base_url: str, exc: httpx.TransportError) -> RegistryError:
    """One sentence naming the URL; the short reason is kept as `detail` for callers that print it alone."""
    reason = connection_failure_reason(exc)
    return ConnectionFailedError(f"Unable to connect to the server at {base_url}: {reason}.", detail=reason)


def connection_failure_reason(exc: httpx.TransportError) -> str:
    text = str(exc).lower()
    if isinstance(exc, httpx.TimeoutException):
        return "connection timed out" if isinstance(exc, httpx.ConnectTimeout) else "the server did not answer in time"
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host not found"
    if "ssl" in text or "certificate" in text:
        return f"TLS error ({exc})"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})" if str(exc) else "connection failed"
    return "the connection was closed unexpectedly"


def response_json(response: httpx.Response) -> dict:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise error_from_wire(502, "INTERNAL_ERROR", "The response from the server was not valid JSON.") from None


def error_from_response(response: httpx.Response) -> RegistryError:
    code, message = parse_error_body(response)
    if code is None and response.status_code == 422:
        code = "BAD_REQUEST"  # request validation failures of the web framework
    return error_from_wire(response.status_code, code, message)


def parse_error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    """(wire code, message) from the NGC envelope, the OCI envelope, or a plain `detail`/`message` body."""
    try:
        body = response.json()
    except ValueError:
        return None, (response.text.strip()[:300] or None)
    if not isinstance(body, dict):
        return None, None
    status = body.get("requestStatus")
    if isinstance(status, dict) and (status.get("statusCode") or status.get("statusDescription")):
        return status.get("statusCode"), status.get("statusDescription")
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0].get("code"), errors[0].get("message")
    return None, _plain_message(body.get("detail") or body.get("message"))


def _plain_message(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # framework validation errors: [{"loc": [...], "msg": "..."}]
        messages = [item.get("msg", "") for item in value if isinstance(item, dict)]
        return "Invalid request: " + "; ".join(message for message in messages if message)
    return None
