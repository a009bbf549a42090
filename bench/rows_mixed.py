"""Row 8: how cost grows with 1, 4, 16 and 64 concurrent clients mixing small requests and 32 MiB downloads."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from .common import MIB, OUT, Row, Stat, log
from .dataset import file_set
from .load import concurrent
from .rows_transfer import MODEL, ngc_upload
from .servers import OurServer

LEVELS = (1, 4, 16, 64)
SECONDS = 6
TRANSFER_EVERY = 10  # one request in ten is a 32 MiB download through a signed storage URL


def mixed_setup(server: OurServer, token: str) -> list[str]:
    """A version of 4 files of 32 MiB; returns their signed storage paths."""
    source = file_set(OUT / "data" / "mix", 4, 128 * MIB, "mix")
    ngc_upload(server.ngc_env(OUT / "home"), "mix", source)
    response = httpx.get(f"{server.url}/v2/org/{MODEL.split('/')[0]}/models/{MODEL.split('/')[1]}/mix/files",
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    urls = response.json()["urls"]
    return [urlsplit(url).path for url in urls]


def mixed_rows(server: OurServer, token: str, blob_paths: list[str]) -> list[Row]:
    small = ["/v2/org/bench/models/xfer", "/v2/org/bench/models/xfer/versions/mix"]

    def pick(client: int, n: int) -> str:
        if n % TRANSFER_EVERY == TRANSFER_EVERY - 1:
            return blob_paths[(client + n) % len(blob_paths)]
        return small[n % len(small)]

    rows = []
    for clients in LEVELS:
        result, seconds = concurrent(server.url, token, clients, SECONDS, pick)
        rows.append(_level_row(clients, result, seconds))
        log(f"{clients} clients: {rows[-1].ours.median:.0f} req/s, {rows[-1].note}")
    return rows


def _level_row(clients: int, result, seconds: float) -> Row:
    row = Row("8", f"{clients} concurrent client(s), mixed", "req/s", Stat([len(result.seconds) / seconds]),
              target="no errors")
    row.met = result.errors == 0
    row.note = (f"{result.bytes / seconds / 1e9:.2f} GB/s; p50 {result.percentile(0.5) * 1000:.1f} ms, "
                f"p99 {result.percentile(0.99) * 1000:.1f} ms; {result.errors} errors")
    return row
