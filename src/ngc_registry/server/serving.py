"""How `ngc-registry serve` runs uvicorn: modern TLS only, and connections that stall are closed.

- TLS: Python's default server context already refuses TLS 1.0 and 1.1 (minimum TLS 1.2); the TLS 1.2 cipher
  suites are narrowed to AEAD ones with forward secrecy (TLS 1.3's suites are all of that kind).
- Slow clients (slowloris): a request line and headers must arrive within `HEADER_TIMEOUT` seconds of their first
  byte (or of the connection), and a request body may not pause for more than `IDLE_TIMEOUT` seconds (unless the
  server itself stopped reading). Otherwise the connection is closed, which ends the request and frees what it held:
  the app sees a disconnect, and partial uploads are discarded. Slow downloads are not affected.
- Small writes made in one turn of the event loop leave in one send (`CoalescingTransport`).
"""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .settings import env

log = logging.getLogger("ngc_registry.server")

MODERN_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"
HEADER_TIMEOUT = float(env("HEADER_TIMEOUT", "30"))
IDLE_TIMEOUT = float(env("IDLE_TIMEOUT", "120"))


HELD_BYTES = 64 * 1024  # a write this big, or held writes adding up to it, go out at once


class CoalescingTransport:
    """A transport that holds small writes until the next write or the end of the event loop's turn, and sends
    what it holds in one `writelines` (one writev). uvicorn writes a response's status line and headers, then its
    body, as two writes: two syscalls, two TCP segments and two wake-ups of the client for every small response.
    Bench row 6 (small requests, 2 workers, wrk): 2,770-3,000 -> 3,030-3,450 req/s, interleaved runs."""

    def __init__(self, transport, loop) -> None:
        self._transport, self._loop = transport, loop
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data) -> None:
        if not self._held:
            if len(data) >= HELD_BYTES:
                self._transport.write(data)
                return
            self._loop.call_soon(self.flush)
        self._held.append(data if isinstance(data, bytes) else bytes(data))  # the caller may reuse its buffer
        self._held_bytes += len(data)
        if self._held_bytes >= HELD_BYTES:
            self.flush()

    def flush(self) -> None:
        held, self._held, self._held_bytes = self._held, [], 0
        if held and not self._transport.is_closing():
            self._transport.writelines(held)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a header deadline, a body idle timeout and coalesced writes (see the
    module's docstring)."""

    def connection_made(self, transport) -> None:
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._timer = None
        self._watch("headers")

    def connection_lost(self, exc) -> None:
        self._stop()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last_byte = self.loop.time()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._watch("headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._watch("body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop()

    def _watch(self, phase: str) -> None:
        self._phase, self._since, self._last_byte = phase, self.loop.time(), self.loop.time()
        if self._timer is None:
            self._timer = self.loop.call_later(self._remaining(), self._check)

    def _stop(self) -> None:
        self._phase = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _remaining(self) -> float:
        now = self.loop.time()
        if self._phase == "headers":
            return HEADER_TIMEOUT - (now - self._since)
        return IDLE_TIMEOUT - (now - self._last_byte)

    def _check(self) -> None:
        self._timer = None
        if self._phase is None or self.transport.is_closing():
            return
        remaining = self._remaining()
        if remaining > 0 or (self._phase == "body" and self.flow.read_paused):
            self._timer = self.loop.call_later(max(remaining, 1.0), self._check)
            return
        client = "%s:%d" % self.client if self.client else "-"
        log.warning("closing a connection from %s: no complete %s in time", client,
                    "request headers" if self._phase == "headers" else "request body")
        self.transport.close()


def uvicorn_options(tls: bool) -> dict:
    """What `serve` adds to uvicorn's options."""
    options = {"http": GuardedHttpProtocol}
    if tls:
        options["ssl_ciphers"] = MODERN_CIPHERS
    return options
