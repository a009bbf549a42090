"""The server as a process: init, serve, TLS, SIGTERM, request logging without secrets, key rotation."""

from __future__ import annotations

import base64
import re
import socket
import struct
import subprocess
from urllib.parse import urlsplit

import httpx

from ..postgres import postgres_url  # noqa: F401  (fixture)
from .conftest import BIN, init_registry, run, start_server


def _token(url: str, key: str, **kwargs) -> httpx.Response:
    basic = base64.b64encode(f"$oauthtoken:{key}".encode()).decode()
    return httpx.get(f"{url}/token?service=ngc&", headers={"Authorization": f"Basic {basic}"}, **kwargs)


def test_init_twice_refuses_and_changes_nothing(tmp_path):
    data_dir = tmp_path / "data"
    key = init_registry(data_dir)
    before = (data_dir / "registry.db").read_bytes()
    again = run(str(BIN / "ngc-registry"), "init", "--data-dir", str(data_dir), "--org", "other",
                "--admin-email", "x@example.com")
    assert again.returncode == 1
    assert again.stderr.strip().startswith("Error: ") and "already initialised" in again.stderr
    assert (data_dir / "registry.db").read_bytes() == before
    assert key.startswith("ngcr_")


def test_serve_logs_requests_without_secrets_and_stops_on_sigterm(tmp_path):
    data_dir = tmp_path / "data"
    key = init_registry(data_dir)
    server = start_server(data_dir, key)
    token = _token(server.url, key).json()["token"]
    httpx.get(f"{server.url}/v2/users/me", headers={"Authorization": f"Bearer {token}"})
    assert server.stop() == 0
    log = server.log.read_text()
    assert '"GET /v2/users/me" 200' in log and '"GET /token" 200' in log
    assert key not in log and token not in log


def test_operator_key_rotation_kills_the_old_key(tmp_path):
    data_dir = tmp_path / "data"
    old = init_registry(data_dir)
    server = start_server(data_dir, old)
    try:
        new = server.new_key("admin@example.com")
        assert _token(server.url, old).status_code == 401
        assert _token(server.url, new).status_code == 200
    finally:
        server.stop()


def test_serve_https_with_a_certificate(tmp_path):
    cert, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key_file), "-out", str(cert)],
                   check=True, capture_output=True)
    data_dir = tmp_path / "data"
    key = init_registry(data_dir)
    server = start_server(data_dir, key, "--tls-cert", str(cert), "--tls-key", str(key_file), scheme="https")
    try:
        assert _token(server.url, key, verify=str(cert)).status_code == 200
    finally:
        server.stop()


def test_serve_refuses_an_uninitialised_directory(tmp_path):
    done = run(str(BIN / "ngc-registry"), "serve", "--data-dir", str(tmp_path / "empty"), "--port", "1")
    assert done.returncode == 1 and "not initialised" in done.stderr


def test_init_and_serve_on_postgresql(tmp_path, postgres_url):
    from ..postgres import new_database

    url = new_database(postgres_url)
    data_dir = tmp_path / "data"
    done = run(str(BIN / "ngc-registry"), "init", "--data-dir", str(data_dir), "--database-url", url, "--org", "pgorg",
               "--admin-email", "admin@example.com")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1].removeprefix("API key: ")
    server = start_server(data_dir, key, "--database-url", url)
    try:
        token = _token(server.url, key).json()["token"]
        me = httpx.get(f"{server.url}/v2/users/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["user"]["roles"][0]["org"]["name"] == "pgorg"
        assert not (data_dir / "registry.db").exists()
    finally:
        server.stop()


TCPI_DATA_SEGS_IN = 152  # offset of tcpi_data_segs_in in Linux's struct tcp_info (4.6+)


def _data_segments_received(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, TCPI_DATA_SEGS_IN)[0]


def _read_response(sock: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_a_small_response_leaves_in_one_tcp_segment(registry):
    """uvicorn writes a response's head and its body separately; the server sends both in one segment (one
    syscall, one wake-up of the client), which bench row 6 measures."""
    parts = urlsplit(registry.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        before = _data_segments_received(sock)
        for _ in range(20):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
        assert _data_segments_received(sock) - before == 20
