"""`make bench`: every row of issue 7's table, this registry next to its baseline measured in the same run.

Data lives in bench/out/ (git-ignored; BENCH_OUT moves it) and the big files are deleted at the end. Servers listen
on 127.0.0.1 only. BENCH_RUNS (default 3) sets the runs per figure; BENCH_ONLY=2,3 runs some rows only;
BENCH_SERVER_FLAGS sets the flags of `ngc-registry serve` (default `--workers 2`, as `make bench`). The options of
`python -m bench.run -h` do the same and reduce the data for quick before/after comparisons (such figures are not
the issue's rows: say so).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import datetime

from . import common, report
from .baselines import ensure_tools, start_docker_registry, start_nginx, versions
from .common import OUT, ROOT, Row, log, stolen_ms
from .dataset import load_catalog, remove
from .rows_meta import bearer_token, cli_rows, search_rows, small_request_rows
from .rows_mixed import mixed_rows, mixed_setup
from .rows_oci import oci_rows
from .rows_transfer import create_model, download_rows, make_datasets, memory_rows, reupload_rows, upload_rows
from .servers import OurServer, init_server

# the default is make's too: a partial run (`python -m bench.run --only 6`) must measure the same server
SERVER_FLAGS = os.environ.get("BENCH_SERVER_FLAGS", "--workers 2").split()
ONLY = {part.strip() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()}


def wanted(number: str) -> bool:
    return not ONLY or number in ONLY


def check_disk(need_gib: int = 24) -> None:
    free = shutil.disk_usage(OUT).free / (1 << 30)
    if free < need_gib:
        raise SystemExit(f"bench: {OUT} has {free:.0f} GiB free; the bench needs about {need_gib} GiB.")


def oci_available() -> bool:
    routes = ROOT / "src" / "ngc_registry" / "server" / "routes"
    return any("blobs/uploads" in path.read_text() for path in routes.glob("*.py"))


def transfer_phase(server: OurServer) -> list[Row]:
    """Rows 3, 2, 4: 2 GiB sets against nginx/curl and sha256sum (downloads need row 3's uploads)."""
    if not (wanted("2") or wanted("3") or wanted("4")):
        return []
    data = make_datasets(OUT / "data")
    nginx = start_nginx(OUT / "data", OUT / "put")
    rows: list[Row] = []
    try:
        rows += upload_rows(server, nginx, data)
        rows += download_rows(server, nginx, data) if wanted("2") else []
        rows += reupload_rows(server, data) if wanted("4") else []
    finally:
        nginx.stop()
    return rows


def mixed_phase(server: OurServer) -> list[Row]:
    token = bearer_token(server)
    return mixed_rows(server, token, mixed_setup(server, token))


def memory_phase(server: OurServer) -> list[Row]:
    """Row 7 on a freshly started server process, so its peak resident set is this transfer's alone."""
    server.stop()
    server.start(*SERVER_FLAGS)
    return memory_rows(server, OUT / "data")


def cli_phase(server: OurServer) -> list[Row]:
    load_catalog(server.data_dir / "registry.db", 999, 1, 0)  # with bench/xfer: 1,000 models
    return cli_rows(server)


def oci_phase(server: OurServer) -> list[Row]:
    if not oci_available():
        log("row 1 skipped: the OCI distribution routes are not in this tree yet")
        return []
    registry = start_docker_registry(OUT / "docker-registry")
    try:
        return oci_rows(server, registry)
    finally:
        registry.stop()
        remove(OUT / "docker-registry")


def catalog_phase() -> list[Row]:
    """Row 6 on its own registry: 100,000 models, 1,000,000 versions, 10,000 image repositories."""
    server = init_server(OUT / "catalog")
    started = time.monotonic()
    models = common.CATALOG_MODELS
    loaded = load_catalog(server.data_dir / "registry.db", models, 10, models // 10)
    log(f"catalog loaded in {time.monotonic() - started:.0f} s: {loaded}")
    server.start(*SERVER_FLAGS)
    try:
        token = bearer_token(server)
        return search_rows(server, token) + small_request_rows(server, token)
    finally:
        server.stop()
        remove(server.data_dir)


def apply_options(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", help="rows to run, e.g. 5,6 (as BENCH_ONLY)")
    parser.add_argument("--runs", type=int, help="runs per figure (as BENCH_RUNS)")
    parser.add_argument("--xfer-mib", type=int, help="MiB per transfer data set of rows 2-4 (default 2048)")
    parser.add_argument("--sets", choices=["8", "1"], nargs="+", help="transfer data sets: 8 files, 1 file")
    parser.add_argument("--catalog-models", type=int, help="models in row 6's catalog (default 100000)")
    options = parser.parse_args(argv)
    if any(value is not None for value in vars(options).values()):
        # a partial or reduced run never replaces bench/RESULTS.md, nor the figures `bench.report` renders it from
        report.RESULTS, report.FIGURES = OUT / "RESULTS.md", OUT / "results-partial.json"
    if options.only:
        ONLY.update(part.strip() for part in options.only.split(",") if part.strip())
    common.RUNS = options.runs or common.RUNS
    common.XFER_BYTES = options.xfer_mib * common.MIB if options.xfer_mib else common.XFER_BYTES
    common.SETS = tuple("8 files" if n == "8" else "1 file" for n in options.sets) if options.sets else common.SETS
    common.CATALOG_MODELS = options.catalog_models or common.CATALOG_MODELS


def main() -> None:
    apply_options()
    OUT.mkdir(parents=True, exist_ok=True)
    ensure_tools()
    check_disk()
    started, steal = time.monotonic(), stolen_ms()
    context = {"machine": report.machine(), "versions": {**report.python_versions(), **versions()},
               "server": {"flags": " ".join(SERVER_FLAGS) or "(defaults)", "data": str(OUT)}}
    server = init_server(OUT / "registry").start(*SERVER_FLAGS)
    rows: list[Row] = []
    try:
        create_model(server.ngc_env(OUT / "home"))
        rows += transfer_phase(server)
        rows += mixed_phase(server) if wanted("8") else []
        rows += memory_phase(server) if wanted("7") else []
        rows += cli_phase(server) if wanted("5") else []
        rows += oci_phase(server) if wanted("1") else []
    finally:
        server.stop()
        remove(OUT / "registry", OUT / "data", OUT / "put", OUT / "dl", OUT / "home")
    rows += catalog_phase() if wanted("6") else []
    rows.sort(key=lambda row: int(row.number))
    context.update(finished=datetime.now().strftime("%Y-%m-%d %H:%M"), minutes=(time.monotonic() - started) / 60)
    context["machine"]["vCPU steal during the run"] = f"{(stolen_ms() - steal) / 1000:.1f} s"
    report.save(rows, context)
    report.write_markdown(rows, context)
    report.print_table(rows)
    log(f"done in {context['minutes']:.1f} min; bench/RESULTS.md written")


if __name__ == "__main__":
    main()
