"""Clients that misbehave, against a real server process: gone mid-upload or mid-download, fewer or more bytes than
they declared, a part cut short, and slow clients (slowloris) — refused or cut off, while others are served."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from .test_faults import MB, SMALL_PARTS, Registry, _token, sha, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def registry(tmp_path):
    made = Registry(tmp_path / "data", SMALL_PARTS)
    yield made
    made.stop()


# -- clients that vanish or lie ---------------------------------------------------------------------------------

def raw_request(url: str, head: str, body: bytes, close: bool = True) -> bytes:
    """Send bytes as they are; return what came back (until the server closes, or 2 s)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        if close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def _basic(registry) -> str:
    return "Basic " + base64.b64encode(f"$oauthtoken:{registry.key}".encode()).decode()


def test_clients_that_vanish_or_send_other_sizes_than_declared(registry):
    name, blob = "nvidia/sizes", os.urandom(500)
    head = (f"POST /v2/{name}/blobs/uploads/?digest={sha(blob)} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {_basic(registry)}\r\nContent-Length: {{length}}\r\n")
    fewer = raw_request(registry.url, head.format(length=1000), blob)  # 500 of 1000 bytes, then gone
    assert b" 201 " not in fewer
    more = raw_request(registry.url, head.format(length=500), blob + b"GARBAGE" * 100)
    assert b" 400 " in more and b" 500 " not in more, more[:300]  # the extra bytes are not a request: refused
    landed = httpx.get(f"{registry.url}/v2/{name}/blobs/{sha(blob)}", auth=registry.auth())
    assert landed.status_code == 404 or landed.content == blob  # the declared 500 bytes, or nothing
    wrong = httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/?digest={sha(blob + b'x')}", content=blob,
                       auth=registry.auth())
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "DIGEST_INVALID"
    assert httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/?digest={sha(blob)}", content=blob,
                      auth=registry.auth()).status_code == 201
    assert httpx.get(f"{registry.url}/v2/{name}/blobs/{sha(blob)}", auth=registry.auth()).content == blob
    big = os.urandom(8 * MB)
    assert httpx.post(f"{registry.url}/v2/{name}/blobs/uploads/?digest={sha(big)}", content=big,
                      auth=registry.auth()).status_code == 201
    descriptors = _open_files(registry)
    for _ in range(20):  # downloads abandoned after their first bytes
        with httpx.stream("GET", f"{registry.url}/v2/{name}/blobs/{sha(big)}", auth=registry.auth()) as response:
            next(response.iter_raw(65536))
    wait_for(lambda: _open_files(registry) <= descriptors + 2, timeout=10)
    assert httpx.get(f"{registry.url}/health").status_code == 200
    assert not list((registry.data_dir / "blobs" / "tmp").iterdir())
    registry.check_store()


def _open_files(registry) -> int:
    return len(os.listdir(f"/proc/{registry.server.process.pid}/fd"))


def test_a_part_cut_short_is_not_recorded_and_can_be_sent_again(registry, tmp_path):
    org, headers = registry.server.org, _token(registry)
    base = f"{registry.url}/v2/org/{org}"
    assert httpx.post(f"{base}/models", json={"name": "cut"}, headers=headers).is_success
    assert httpx.post(f"{base}/models/cut/versions", json={"versionId": "1"}, headers=headers).is_success
    data = os.urandom(MB)
    start = httpx.post(f"{base}/files/multipart", headers=headers, json={
        "name": "cut", "version": "1", "filePath": "f.bin", "size": len(data)}).json()
    part = urlsplit(start["urls"][0])
    raw_request(registry.url, f"PUT {part.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n",
                data[:MB // 2])
    body = {"name": "cut", "version": "1", "filePath": "f.bin", "uploadID": start["uploadID"]}
    assert httpx.put(f"{base}/files/multipart", json=body, headers=headers).status_code == 400  # part 1 missing
    assert httpx.put(start["urls"][0], content=data).status_code == 200
    done = httpx.put(f"{base}/files/multipart", json=body, headers=headers)
    assert done.status_code == 200 and done.json()["sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


# -- slow clients ----------------------------------------------------------------------------------------------

def test_slow_clients_are_cut_off_and_others_are_served(tmp_path):
    slow_server = Registry(tmp_path / "data", {"NGC_REGISTRY_HEADER_TIMEOUT": "2", "NGC_REGISTRY_IDLE_TIMEOUT": "3"})
    try:
        _serve_others_while_slow_clients_stall(slow_server)
    finally:
        slow_server.stop()


def _serve_others_while_slow_clients_stall(registry: Registry) -> None:
    parts = urlsplit(registry.url)
    slow = [socket.create_connection((parts.hostname, parts.port), timeout=10) for _ in range(60)]
    for sock in slow[:40]:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers that never end
    for sock in slow[40:]:
        sock.sendall(f"PUT /v2/nvidia/slow/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nAuthorization: "
                     f"{_basic(registry)}\r\nContent-Length: 1000000\r\n\r\n".encode() + b"x" * 10)
    started = time.monotonic()
    for _ in range(10):
        assert httpx.get(f"{registry.url}/health", timeout=2).status_code == 200
    assert time.monotonic() - started < 5
    time.sleep(4.5)
    assert all(closed_by_server(sock) for sock in slow)
    log = registry.server.log.read_text()
    assert "no complete request headers in time" in log and "no complete request body in time" in log
    assert httpx.get(f"{registry.url}/health").status_code == 200


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(3)
    try:
        while sock.recv(65536):
            pass  # an answer, if any, then the end of the stream
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()
