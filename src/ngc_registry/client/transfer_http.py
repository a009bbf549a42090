"""HTTP to signed storage URLs on the standard library: ranged GETs read with `readinto` into a 1 MiB buffer, part
PUTs sent with `sendfile`; one keep-alive connection per worker thread and host, no credentials.

This path carries every byte of a transfer; http.client with large reads moves about twice what httpx does on
the same core (see shared/reference/perf-notes.md), and it needs no dependency.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import ssl
import threading
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin, urlsplit

from .. import __version__

USER_AGENT = f"ngc-registry-cli/{__version__}"
READ_BUFFER = 1 << 20
SEND_PIECE = 8 << 20
TIMEOUT_SECONDS = 60.0


class StorageConnectionError(Exception):
    """The storage server could not be reached, or the connection broke; sending again may work."""


class StorageResponse:
    def __init__(self, response: http.client.HTTPResponse):
        self._response = response
        self.status = response.status
        self.headers = response.headers
        self.broken = False

    def readinto(self, buffer: memoryview) -> int:
        """Bytes read into `buffer`; 0 at the end of the body; an error when the body stops short."""
        try:
            received = self._response.readinto(buffer)
        except (OSError, http.client.HTTPException) as err:
            self.broken = True
            raise StorageConnectionError(f"the connection broke while reading ({describe(err)})") from err
        if not received and buffer and self._response.length:
            self.broken = True
            raise StorageConnectionError("the connection closed before the end of the body")
        return received

    def text(self, limit: int = 300) -> str:
        try:
            return self._response.read(limit).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            return ""


def describe(err: BaseException) -> str:
    return str(err) or type(err).__name__


def ssl_context() -> ssl.SSLContext:
    """The CA bundle the environment names (SSL_CERT_FILE, REQUESTS_CA_BUNDLE), else certifi's."""
    cafile = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    if not cafile:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile)


class StorageClient:
    """Requests to storage URLs (absolute, or relative to the API URL) from many threads at once."""

    def __init__(self, base_url: str, workers: int = 1):
        self.base_url = base_url.rstrip("/") + "/"
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    def absolute(self, url: str) -> str:
        return urljoin(self.base_url, url)

    @contextlib.contextmanager
    def get(self, url: str, headers: dict[str, str]) -> Iterator[StorageResponse]:
        """A GET whose body the caller reads; a connection not read to the end is not reused."""
        connection, target = self._send(url, lambda conn, path: conn.request("GET", path, headers=self._headers(
            headers)))
        response = self._response(connection)
        wrapped = StorageResponse(response)
        try:
            yield wrapped
        finally:
            if wrapped.broken or not response.isclosed():
                self._discard(connection)

    def put_file(self, url: str, path: Path, start: int, length: int,
                 on_sent: Callable[[int], None]) -> tuple[int, str]:
        """PUT `length` bytes of `path` from `start` as the body; returns (status, start of the response text)."""
        def send(connection: http.client.HTTPConnection, target: str) -> None:
            connection.putrequest("PUT", target, skip_accept_encoding=True)
            for name, value in self._headers({"Content-Length": str(length),
                                              "Content-Type": "application/octet-stream"}).items():
                connection.putheader(name, value)
            connection.endheaders()
            try:
                _send_file_range(connection, path, start, length, on_sent)
            except OSError:
                pass  # the server may have answered early (e.g. 403) and closed: the response says what happened

        connection, _ = self._send(url, send)
        response = self._response(connection)
        text = StorageResponse(response).text()
        if not response.isclosed():
            response.read()
        return response.status, text

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()

    # -- connections ----------------------------------------------------------------------------------------

    @staticmethod
    def _headers(extra: dict[str, str]) -> dict[str, str]:
        return {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **extra}

    def _send(self, url: str, send) -> tuple[http.client.HTTPConnection, str]:
        """Send a request on this thread's connection; a kept-alive connection the server closed is replaced."""
        parts = urlsplit(self.absolute(url))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for fresh in (False, True):
            connection, reused = self._connection(parts.scheme, parts.netloc, fresh)
            try:
                send(connection, target)
                return connection, target
            except (OSError, http.client.HTTPException) as err:
                self._discard(connection)
                if fresh or not reused:
                    raise StorageConnectionError(f"cannot reach {parts.netloc} ({describe(err)})") from err
            except BaseException:
                self._discard(connection)  # a half-sent request: the connection cannot be reused
                raise
        raise AssertionError("unreachable")

    def _response(self, connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
        try:
            return connection.getresponse()
        except (OSError, http.client.HTTPException) as err:
            self._discard(connection)
            raise StorageConnectionError(f"no answer from the storage server ({describe(err)})") from err

    def _connection(self, scheme: str, netloc: str, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        pool = self._local.__dict__.setdefault("pool", {})
        key = (scheme, netloc)
        if key in pool and not fresh:
            return pool[key], True
        if scheme == "https":
            self._ssl = self._ssl or ssl_context()
            connection = http.client.HTTPSConnection(netloc, timeout=TIMEOUT_SECONDS, context=self._ssl)
        elif scheme == "http":
            connection = http.client.HTTPConnection(netloc, timeout=TIMEOUT_SECONDS)
        else:
            raise StorageConnectionError(f"unsupported storage URL scheme '{scheme}'")
        connection.blocksize = READ_BUFFER
        pool[key] = connection
        with self._lock:
            self._all.append(connection)
        return connection, False

    def _discard(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        pool = self._local.__dict__.get("pool", {})
        for key, pooled in list(pool.items()):
            if pooled is connection:
                del pool[key]


class FileChangedError(Exception):
    """The source file ended before the part did: it changed after it was hashed."""


def _send_file_range(connection: http.client.HTTPConnection, path: Path, start: int, length: int,
                     on_sent: Callable[[int], None]) -> None:
    with open(path, "rb") as stream:
        offset, end = start, start + length
        while offset < end:
            sent = connection.sock.sendfile(stream, offset, min(SEND_PIECE, end - offset))
            if sent == 0:
                raise FileChangedError(f"'{path}' became shorter while it was being uploaded")
            offset += sent
            on_sent(sent)
