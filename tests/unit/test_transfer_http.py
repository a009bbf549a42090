"""The storage HTTP client (signed URLs): ranged GETs, part PUTs with sendfile, keep-alive, broken connections.

`StorageServer` is a small threaded HTTP server the transfer tests also use to stand in for `/_storage/`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest

from ngc_registry.client.transfer_http import StorageClient, StorageConnectionError

Handler = Callable[[str, str, dict, bytes], tuple[int, bytes]]


class StorageServer:
    """Answers each request with `handler(method, path, headers, body) -> (status, body)`; 206 when a Range is
    answered by the handler is its own choice. `body` of a GET is a generator the handler may cut short."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.requests: list[tuple[str, str, dict]] = []
        self.connections = 0
        outer = self

        class Handle(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                outer.connections += 1

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((self.command, self.path, headers))
                status, payload = outer.handler(self.command, self.path, headers, body)
                data, declared = (payload.data, payload.declared) if isinstance(payload, Body) else (payload,
                                                                                                 len(payload))
                self.send_response(status)
                self.send_header("Content-Length", str(declared))
                self.end_headers()
                self.wfile.write(data)
                if len(data) < declared:
                    self.close_connection = True

            do_GET = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Body:
    """A response body of `declared` bytes of which only `data` is sent: a connection cut short."""

    def __init__(self, data: bytes, declared: int):
        self.data, self.declared = data, declared


def serve_range(data: bytes, headers: dict, cut_after: int | None = None) -> tuple[int, bytes | Body]:
    spec = headers.get("range")
    if not spec:
        return 200, data
    start, end = (int(x) for x in spec.removeprefix("bytes=").split("-"))
    body = data[start:end + 1]
    if cut_after is not None and len(body) > cut_after:
        return 206, Body(body[:cut_after], len(body))
    return 206, body


@pytest.fixture
def storage():
    servers = []

    def make(handler: Handler) -> StorageServer:
        servers.append(StorageServer(handler))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def read_all(client: StorageClient, url: str, headers: dict) -> tuple[int, bytes]:
    with client.get(url, headers) as response:
        buffer, data = memoryview(bytearray(7)), b""
        while received := response.readinto(buffer):
            data += bytes(buffer[:received])
        return response.status, data


def test_ranged_gets_reuse_one_connection_per_thread(storage):
    data = bytes(range(256)) * 10
    server = storage(lambda method, path, headers, body: serve_range(data, headers))
    client = StorageClient(server.url)
    assert read_all(client, "/_storage/x", {"Range": "bytes=10-19"}) == (206, data[10:20])
    assert read_all(client, f"{server.url}/_storage/x", {"Range": "bytes=0-2559"}) == (206, data)
    assert server.connections == 1
    assert server.requests[0][2]["accept-encoding"] == "identity" and "authorization" not in server.requests[0][2]
    client.close()


def test_a_body_not_read_to_the_end_does_not_poison_the_connection(storage):
    server = storage(lambda method, path, headers, body: (200, b"x" * 100_000))
    client = StorageClient(server.url)
    with client.get("/a", {}) as response:
        response.readinto(memoryview(bytearray(10)))
    assert read_all(client, "/a", {})[1] == b"x" * 100_000
    client.close()


def test_a_cut_body_raises_a_connection_error(storage):
    data = b"y" * 1000
    server = storage(lambda method, path, headers, body: serve_range(data, headers, cut_after=100))
    client = StorageClient(server.url)
    with pytest.raises(StorageConnectionError):
        read_all(client, "/a", {"Range": "bytes=0-999"})
    client.close()


def test_a_closed_keepalive_connection_is_replaced(storage):
    server = storage(lambda method, path, headers, body: (200, b"ok"))
    client = StorageClient(server.url)
    assert read_all(client, "/a", {}) == (200, b"ok")
    for connection in client._all:
        connection.sock.close()  # as if the server had timed it out
    assert read_all(client, "/a", {}) == (200, b"ok")
    client.close()


def test_nothing_listening_is_a_connection_error():
    client = StorageClient("http://127.0.0.1:9")
    with pytest.raises(StorageConnectionError, match="cannot reach"):
        read_all(client, "/a", {})


def test_put_file_sends_exactly_the_range_with_its_length(storage, tmp_path):
    received = []

    def handler(method, path, headers, body):
        received.append((headers["content-length"], body))
        return 200, b'{"ok": true}'

    server = storage(handler)
    source = tmp_path / "f.bin"
    source.write_bytes(bytes(range(100)))
    sent = []
    client = StorageClient(server.url)
    assert client.put_file("/_storage/p1", source, 10, 20, sent.append) == (200, '{"ok": true}')
    assert client.put_file("/_storage/p2", source, 0, 0, sent.append) == (200, '{"ok": true}')
    assert received == [("20", bytes(range(10, 30))), ("0", b"")]
    assert sum(sent) == 20 and server.connections == 1
    client.close()


def test_put_of_a_file_that_became_shorter(storage, tmp_path):
    server = storage(lambda method, path, headers, body: (200, b""))
    source = tmp_path / "f.bin"
    source.write_bytes(b"short")
    client = StorageClient(server.url)
    with pytest.raises(Exception, match="became shorter"):
        client.put_file("/p", source, 0, 50, lambda n: None)
    client.close()


def test_put_reports_the_server_refusal(storage, tmp_path):
    server = storage(lambda method, path, headers, body: (403, b"expired"))
    source = tmp_path / "f.bin"
    source.write_bytes(b"data")
    client = StorageClient(server.url)
    assert client.put_file("/p", source, 0, 4, lambda n: None) == (403, "expired")
    client.close()
