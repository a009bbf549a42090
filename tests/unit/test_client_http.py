"""Session pieces that need no server: auth headers, token scopes, error envelopes, connection failures."""

from __future__ import annotations

import base64
import socket

import httpx
import pytest

from ngc_registry.client.http import (Session, basic_auth_header, connection_failure_reason, error_from_response,
                                      parse_error_body, token_scopes)
from ngc_registry.errors import (AlreadyExistsError, BadRequestError, ConfigError, ConnectionFailedError,
                                 ForbiddenError, InternalError, NotFoundError, TeamNotFoundError)


def response(status, **kwargs):
    return httpx.Response(status, request=httpx.Request("GET", "http://server/x"), **kwargs)


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_basic_auth_header_is_oauthtoken_and_key():
    header = basic_auth_header("my-key")
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "$oauthtoken:my-key"


def test_token_scopes():
    assert token_scopes(None, None) == []
    assert token_scopes("acme", None) == ["group/ngc:acme"]
    assert token_scopes("acme", "team-a") == ["group/ngc:acme", "group/ngc:acme/team-a"]


def test_ngc_envelope_becomes_the_typed_error_with_its_message():
    body = {"requestStatus": {"statusCode": "TEAM_NOT_FOUND", "statusDescription": "Team 'x' not found.",
                              "requestId": "r1"}}
    err = error_from_response(response(404, json=body))
    assert isinstance(err, TeamNotFoundError) and err.message == "Team 'x' not found." and err.status == 404


def test_unknown_code_falls_back_to_http_status():
    body = {"requestStatus": {"statusCode": "SOMETHING_NEW", "statusDescription": "New thing."}}
    assert isinstance(error_from_response(response(409, json=body)), AlreadyExistsError)


def test_oci_envelope_and_plain_bodies():
    assert parse_error_body(response(403, json={"errors": [{"code": "DENIED", "message": "no"}]})) == ("DENIED", "no")
    assert parse_error_body(response(404, json={"detail": "Not Found"})) == (None, "Not Found")
    assert parse_error_body(response(500, text="oops")) == (None, "oops")
    assert isinstance(error_from_response(response(403, json={"errors": [{"code": "DENIED"}]})), ForbiddenError)
    assert isinstance(error_from_response(response(404, text="")), NotFoundError)


def test_framework_validation_error_is_a_bad_request():
    body = {"detail": [{"loc": ["body", "name"], "msg": "Field required"}]}
    err = error_from_response(response(422, json=body))
    assert isinstance(err, BadRequestError) and err.message == "Invalid request: Field required"


def test_server_error_without_body_is_internal():
    assert isinstance(error_from_response(response(500)), InternalError)


def test_connection_refused_names_the_url():
    url = closed_port_url()
    with Session(url) as session, pytest.raises(ConnectionFailedError) as caught:
        session.request("GET", "/health", authenticate=False)
    assert caught.value.message == f"Unable to connect to the server at {url}: connection refused."
    assert caught.value.detail == "connection refused"


def test_unsupported_scheme_is_a_config_error():
    with Session("ftp://host") as session, pytest.raises(ConfigError):
        session.request("GET", "/health", authenticate=False)


def test_failure_reasons():
    assert connection_failure_reason(httpx.ConnectTimeout("t")) == "connection timed out"
    assert connection_failure_reason(httpx.ReadTimeout("t")) == "the server did not answer in time"
    assert connection_failure_reason(httpx.RemoteProtocolError("x")) == "the connection was closed unexpectedly"


def test_auth_modes_and_context_headers():
    with Session("http://h", None, org="acme") as guest:
        headers = guest.auth_headers((None, None))
        assert set(headers) == {"X-NGC-Guest-Token"} and len(headers["X-NGC-Guest-Token"]) == 36
    with Session("http://h", "nvapi-xyz", org="acme", team="t") as personal:
        assert personal.auth_headers((None, None)) == {
            "Authorization": "Bearer nvapi-xyz", "nv-ngc-org": "acme", "nv-ngc-team": "t"}
        assert not personal.exchanges_key_for_token
    with Session("http://h", "legacy") as legacy:
        assert legacy.exchanges_key_for_token and not legacy.is_guest


def test_a_guest_write_is_refused_before_anything_is_sent():
    from ngc_registry.errors import UnauthorizedError

    with Session(closed_port_url()) as session, pytest.raises(UnauthorizedError, match="needs an API key"):
        session.request("POST", "/v2/org/o/models", json={})
