"""Concurrent requests: wrk for small requests (C, so the load generator stays off the server's cores as much as
possible), and a threaded Python client for mixes of small requests and transfers."""

from __future__ import annotations

import http.client
import json
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .common import OUT, run

WRK_SCRIPT = """
local paths = {%(paths)s}
local bodies = {%(bodies)s}
local methods = {%(methods)s}
local i = 0
request = function()
    i = i %% #paths + 1
    local headers = {}
    if methods[i] == "POST" then
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else
        headers["Authorization"] = "Bearer %(token)s"
    end
    return wrk.format(methods[i], paths[i], headers, bodies[i] ~= "" and bodies[i] or nil)
end
"""


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def lua_list(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def wrk(url: str, requests: list[tuple[str, str, str]], token: str, connections: int, seconds: int,
        threads: int = 2) -> WrkResult:
    """wrk cycling through (method, path, body) requests with a bearer token on GETs."""
    script = OUT / "wrk.lua"
    script.write_text(WRK_SCRIPT % {"paths": lua_list([p for _, p, _ in requests]),
                                    "bodies": lua_list([b for _, _, b in requests]),
                                    "methods": lua_list([m for m, _, _ in requests]), "token": token})
    done = run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", script,
                url], timeout=seconds + 60)
    return parse_wrk(done.stdout)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def parse_wrk(text: str) -> WrkResult:
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", text, re.MULTILINE))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    failed = int(errors.group(1)) if errors else 0
    failed += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return WrkResult(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)), _ms(percentiles["50"]),
                     _ms(percentiles["99"]), total, failed)


class Connection:
    """One keep-alive HTTP connection to a server, with timing of each request."""

    def __init__(self, url: str, token: str | None = None):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.connection.blocksize = 1 << 20
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, sink=None) -> tuple[int, float, int]:
        """(status, seconds, body bytes) of one GET; the body is read in 1 MiB pieces and dropped or sunk."""
        started = time.perf_counter()
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        received = 0
        while chunk := response.read(1 << 20):
            received += len(chunk)
            if sink:
                sink(chunk)
        return response.status, time.perf_counter() - started, received

    def close(self) -> None:
        self.connection.close()


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, seconds: float, size: int) -> None:
        with self.lock:
            self.seconds.append(seconds)
            self.bytes += size
            self.errors += int(status >= 400)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def sequential(url: str, token: str, paths: list[str], count: int) -> Latencies:
    """`count` GETs one after another on one connection, cycling through `paths`: server-side cost plus a hop."""
    connection, result = Connection(url, token), Latencies()
    try:
        for index in range(count):
            result.add(*connection.get(paths[index % len(paths)]))
    finally:
        connection.close()
    return result


def concurrent(url: str, token: str, clients: int, seconds: float, pick) -> tuple[Latencies, float]:
    """`clients` threads, each on its own connection, sending `pick(client, n)` paths until time is up."""
    result, deadline = Latencies(), time.monotonic() + seconds

    def client(number: int) -> None:
        connection, n = Connection(url, token), 0
        try:
            while time.monotonic() < deadline:
                try:
                    result.add(*connection.get(pick(number, n)))
                except (OSError, http.client.HTTPException):
                    result.add(599, 0.0, 0)
                    connection.close()
                    connection = Connection(url, token)
                n += 1
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result, time.monotonic() - started


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")
