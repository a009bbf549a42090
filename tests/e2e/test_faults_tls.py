"""TLS as `ngc-registry serve --tls-cert/--tls-key` serves it: TLS 1.2 and 1.3 only, and TLS 1.2 with AEAD cipher
suites and forward secrecy only. The clients below are willing to go lower; the server must refuse."""

from __future__ import annotations

import socket
import ssl
import subprocess
from urllib.parse import urlsplit

import pytest

from .conftest import init_registry, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("tls")
    cert, key_file = work / "cert.pem", work / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key_file), "-out", str(cert)],
                   check=True, capture_output=True)
    data_dir = work / "data"
    server = start_server(data_dir, init_registry(data_dir), "--tls-cert", str(cert), "--tls-key", str(key_file),
                          scheme="https")
    yield server
    server.stop()


def handshake(server, lowest: ssl.TLSVersion, highest: ssl.TLSVersion, ciphers: str | None = None) -> str | None:
    """The protocol agreed on, or None when the server refused the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_ciphers(ciphers or "ALL:@SECLEVEL=0")  # this client would accept anything
    context.minimum_version, context.maximum_version = lowest, highest
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version()
        except (ssl.SSLError, ConnectionResetError):
            return None


def test_old_protocols_are_refused(tls_server):
    assert handshake(tls_server, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1) is None
    assert handshake(tls_server, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1) is None


def test_tls_1_2_and_1_3_are_served(tls_server):
    assert handshake(tls_server, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(tls_server, ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    assert handshake(tls_server, ssl.TLSVersion.TLSv1, ssl.TLSVersion.MAXIMUM_SUPPORTED) == "TLSv1.3"


@pytest.mark.parametrize("cipher", ["AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "AES256-GCM-SHA384",
                                    "ECDHE-RSA-AES128-SHA"])
def test_tls_1_2_without_aead_or_forward_secrecy_is_refused(tls_server, cipher):
    assert handshake(tls_server, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, f"{cipher}:@SECLEVEL=0") is None
