"""Rows 5 and 6: CLI start-up and listing; search latency and small authenticated requests on a big catalog."""

from __future__ import annotations

import base64
import json
import re
import statistics
from urllib.parse import quote

import httpx

from . import common
from .common import BIN, OUT, Row, Stat, log, run, stolen_ms, timed
from .load import sequential, wrk
from .servers import OurServer

STARTUP_SAMPLES = 15


def startup_samples(argv: list, env: dict | None = None, count: int = STARTUP_SAMPLES) -> list[float]:
    return [timed(argv, env=env) for _ in range(count)]


def cli_rows(server: OurServer) -> list[Row]:
    """Row 5: `ngc --version` against `python -c pass`, and `model list` of 1,000 models."""
    env = server.ngc_env(OUT / "home")
    python = startup_samples([BIN / "python", "-c", "pass"])
    version = startup_samples([BIN / "ngc", "--version"])
    listing = startup_samples([BIN / "ngc", "registry", "model", "list", "--format_type", "json"], env, 7)
    listed = len(json.loads(run([BIN / "ngc", "registry", "model", "list"], env=env).stdout))
    startup = Row("5", "`ngc --version` start-up", "ms", Stat([v * 1000 for v in version]),
                  Stat([p * 1000 for p in python]), "python -c pass", "overhead ≤ 150 ms", higher_is_better=False)
    overhead = startup.ours.median - startup.baseline.median
    startup.met, startup.note = overhead <= 150, f"overhead {overhead:.0f} ms"
    listing_row = Row("5", f"`ngc registry model list` of {listed} models (json)", "s", Stat(listing), None, "",
                      "≤ 0.5 s", higher_is_better=False)
    listing_row.met = listing_row.ours.median <= 0.5
    return [startup, listing_row]


def bearer_token(server: OurServer) -> str:
    basic = base64.b64encode(f"$oauthtoken:{server.key}".encode()).decode()
    response = httpx.get(f"{server.url}/token", params={"service": "ngc", "scope": "group/ngc:bench"},
                         headers={"Authorization": f"Basic {basic}"})
    response.raise_for_status()
    return response.json()["token"]


def small_requests(server: OurServer) -> list[tuple[str, str, str]]:
    """get model, get version (two of each, on different rows), get-caller-info."""
    return [("GET", "/v2/org/bench/models/model-000000", ""),
            ("GET", "/v2/org/bench/models/model-000003/versions/1.3", ""),
            ("GET", "/v2/org/bench/models/model-090003", ""),
            ("GET", "/v2/org/bench/models/model-050001/versions/1.7", ""),
            ("POST", "/v3/keys/get-caller-info", "credentials=" + quote(server.key))]


def search_query(pattern: str, page: int = 0) -> str:
    return quote(json.dumps({"query": f"resourceId:{pattern}", "page": page, "pageSize": 100}))


def search_paths() -> list[str]:
    """First and deep pages of the org search, the public catalog, a substring pattern, a team, containers."""
    org = "/v2/search/org/bench/resources/MODEL?q="
    return [org + search_query("bench/*"), org + search_query("bench/*", 300), org + search_query("*model-0123*"),
            "/v2/search/org/bench/team/team1/resources/MODEL?q=" + search_query("*"),
            "/v2/search/catalog/resources/MODEL?q=" + search_query("*"),
            "/v2/search/org/bench/resources/CONTAINER?q=" + search_query("*")]


def server_side_ms(server: OurServer, path_prefix: str, since: int) -> list[float]:
    """Times the server logged itself for requests whose path starts with `path_prefix` (log offset `since`)."""
    text = (OUT / f"server-{server.port}.log").read_text()[since:]
    return [float(ms) for ms in re.findall(rf'"GET {re.escape(path_prefix)}\S* \d+ ([\d.]+)ms', text)]


def log_size(server: OurServer) -> int:
    return len((OUT / f"server-{server.port}.log").read_text())


def per_run_steal(p99s: list[float], steal: list[float]) -> str:
    return "per run: " + ", ".join(f"{ms:.0f} ms with {stolen:.0f} ms of vCPU steal" for ms, stolen in zip(p99s, steal))


def search_rows(server: OurServer, token: str) -> list[Row]:
    """Row 6 (search): every search page 20 times per run, one connection; p50/p99 as the server logged them."""
    p50s, p99s, errors, steal = [], [], 0, []
    for _ in range(common.RUNS):
        since, stolen = log_size(server), stolen_ms()
        result = sequential(server.url, token, search_paths(), 20 * len(search_paths()))
        steal.append(stolen_ms() - stolen)
        errors += result.errors
        times = sorted(server_side_ms(server, "/v2/search/", since))
        p50s.append(statistics.median(times))
        p99s.append(times[min(int(0.99 * len(times)), len(times) - 1)])
    rows = [Row("6", "search pages, server-side p50", "ms", Stat(p50s), target="≤ 30 ms", higher_is_better=False),
            Row("6", "search pages, server-side p99", "ms", Stat(p99s), target="≤ 100 ms", higher_is_better=False)]
    rows[0].met, rows[1].met = rows[0].ours.median <= 30 and not errors, rows[1].ours.median <= 100 and not errors
    rows[0].note = f"{errors} errors; 6 kinds of page (see README)"
    rows[1].note = per_run_steal(p99s, steal)
    log(f"search p50 {rows[0].ours.median:.1f} ms, p99 {rows[1].ours.median:.1f} ms")
    return rows


def small_request_rows(server: OurServer, token: str, seconds: int = 8) -> list[Row]:
    """Row 6 (small requests): wrk, 32 connections, get model / get version / get-caller-info; with the vCPU time
    the hypervisor took during each run, which is what moves p99 on a VM (bench/analysis.md)."""
    results, steal = [], []
    for _ in range(common.RUNS):
        before = stolen_ms()
        results.append(wrk(server.url, small_requests(server), token, 32, seconds))
        steal.append(stolen_ms() - before)
    errors = sum(r.errors for r in results)
    rate = Row("6", "small authenticated requests, 32 connections", "req/s", Stat([r.rps for r in results]),
               target="≥ 2,000/s")
    p99 = Row("6", "small requests, p99 latency (wrk)", "ms", Stat([r.p99_ms for r in results]), target="≤ 50 ms",
              higher_is_better=False)
    rate.met, p99.met = rate.ours.median >= 2000 and not errors, p99.ours.median <= 50 and not errors
    rate.note = f"{errors} errors; p50 {statistics.median(r.p50_ms for r in results):.1f} ms"
    p99.note = per_run_steal([r.p99_ms for r in results], steal)
    log(f"small requests {rate.ours.median:.0f}/s, p99 {p99.ours.median:.1f} ms, {errors} errors; {p99.note}")
    return [rate, p99]
