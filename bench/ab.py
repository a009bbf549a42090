"""Before/after on a loaded machine: rows 3, 5 and 6 against two source trees at once, interleaved run by run, so
the load of the moment hits both alike. `before` is another tree's `src` (e.g. `git archive <commit> src`), run
through PYTHONPATH; `after` is this tree. Data is reduced for speed: say so next to the figures.

    python -m bench.ab --before /tmp/ngc-before/src --rows 6,5,3 --runs 3 --xfer-mib 1024
"""

from __future__ import annotations

import argparse
import re
import statistics
from datetime import datetime

from . import common
from .common import BIN, OUT, log, timed
from .dataset import file_set, load_catalog, remove, restamp, total_size
from .load import sequential, wrk
from .rows_meta import bearer_token, log_size, search_paths, server_side_ms, small_requests
from .rows_transfer import create_model, ngc_upload
from .servers import OurServer, init_server

FLAGS = ("--workers", "2")


def start_pair(name: str, before: str, models: int, versions: int, images: int) -> dict[str, OurServer]:
    pair = {}
    for side, env in (("before", {"PYTHONPATH": before}), ("after", None)):
        server = init_server(OUT / f"{name}-{side}", env)
        load_catalog(server.data_dir / "registry.db", models, versions, images)
        pair[side] = server.start(*FLAGS)
        create_model(server.ngc_env(OUT / f"home-{side}"))
    return pair


def stop_pair(pair: dict[str, OurServer]) -> None:
    for server in pair.values():
        server.stop()
        remove(server.data_dir)


def row6(before: str, runs: int, seconds: int) -> dict[str, dict[str, list[float]]]:
    pair = start_pair("catalog", before, common.CATALOG_MODELS, 10, common.CATALOG_MODELS // 10)
    found = {side: {"p50": [], "p99": [], "rps": [], "wrk p99": []} for side in pair}
    try:
        tokens = {side: bearer_token(server) for side, server in pair.items()}
        for _ in range(runs):
            for side, server in pair.items():
                since = log_size(server)
                sequential(server.url, tokens[side], search_paths(), 20 * len(search_paths()))
                times = sorted(server_side_ms(server, "/v2/search/", since))
                found[side]["p50"].append(statistics.median(times))
                found[side]["p99"].append(times[min(int(0.99 * len(times)), len(times) - 1)])
            for side, server in pair.items():
                result = wrk(server.url, small_requests(server), tokens[side], 32, seconds)
                found[side]["rps"].append(result.rps)
                found[side]["wrk p99"].append(result.p99_ms)
    finally:
        stop_pair(pair)
    return found


def row5_and_3(before: str, runs: int, rows: set[str]) -> dict[str, dict[str, list[float]]]:
    pair = start_pair("registry", before, 999, 1, 0)
    found = {side: {"list s": [], "upload GB/s": [], "s before the first part PUT": []} for side in pair}
    data = file_set(OUT / "data" / "eight", 8, common.XFER_BYTES, "eight") if "3" in rows else None
    try:
        for index in range(runs):
            for side, server in pair.items():
                env = server.ngc_env(OUT / f"home-{side}")
                if "5" in rows:
                    found[side]["list s"] += [timed([BIN / "ngc", "registry", "model", "list", "--format_type",
                                                     "json"], env=env) for _ in range(3)]
                if data:
                    restamp(data, f"ab-{index}-{side}")
                    since = log_size(server)
                    seconds = ngc_upload(env, f"ab-{index}", data)
                    found[side]["upload GB/s"].append(total_size(data) / seconds / 1e9)
                    found[side]["s before the first part PUT"].append(first_put_after(server, since))
    finally:
        stop_pair(pair)
        remove(OUT / "data")
    return found


def first_put_after(server: OurServer, since: int) -> float:
    """Seconds from the upload's first request (V2) to its first part PUT, from the server's access log."""
    stamps = re.findall(r"^(\S+ [\d:,]+) ngc_registry.access \S+ \"(\S+ \S+)",
                        (OUT / f"server-{server.port}.log").read_text()[since:], re.MULTILINE)
    times = [(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f"), request) for stamp, request in stamps]
    first_put = next(when for when, request in times if request.startswith("PUT /_storage/"))
    return (first_put - times[0][0]).total_seconds()


def show(found: dict[str, dict[str, list[float]]]) -> None:
    for figure in found["after"]:
        values = {side: found[side][figure] for side in found}
        if not values["after"]:
            continue
        text = "  ".join(f"{side} {statistics.median(v):.3g} ({min(v):.3g}–{max(v):.3g})" for side, v in
                         values.items())
        log(f"{figure}: {text}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--before", required=True, help="the `src` directory of the tree to compare with")
    parser.add_argument("--rows", default="6,5,3")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--xfer-mib", type=int, default=1024, help="row 3: MiB in 8 files")
    parser.add_argument("--catalog-models", type=int, default=100_000)
    parser.add_argument("--wrk-seconds", type=int, default=8)
    options = parser.parse_args()
    rows = set(options.rows.split(","))
    common.XFER_BYTES, common.CATALOG_MODELS = options.xfer_mib * common.MIB, options.catalog_models
    OUT.mkdir(parents=True, exist_ok=True)
    if "6" in rows:
        show(row6(options.before, options.runs, options.wrk_seconds))
    if rows & {"3", "5"}:
        show(row5_and_3(options.before, options.runs, rows))


if __name__ == "__main__":
    main()
