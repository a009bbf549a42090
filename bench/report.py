"""The results table: printed, saved as JSON (bench/out/results.json) and written to bench/RESULTS.md together
with the machine, the versions and the hand-written analysis in bench/analysis.md."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from . import common
from .common import OUT, ROOT, Row, Stat

RESULTS = ROOT / "bench" / "RESULTS.md"
FIGURES = OUT / "results.json"  # what `python -m bench.report` renders RESULTS.md from
ANALYSIS = ROOT / "bench" / "analysis.md"


def fmt(stat: Stat | None, unit: str) -> str:
    if stat is None:
        return "—"
    digits = 2 if stat.median < 10 else (1 if stat.median < 100 else 0)
    if len(stat.values) == 1:
        return f"{stat.median:.{digits}f} {unit}"
    return f"{stat.median:.{digits}f} {unit} ({stat.lo:.{digits}f}–{stat.hi:.{digits}f})"


def ratio_text(row: Row) -> str:
    if row.number == "7" or row.ratio is None:
        return "—"
    return f"{row.ratio:.2f}"


def verdict(row: Row) -> str:
    return "—" if row.met is None else ("met" if row.met else "**missed**")


def table(rows: list[Row]) -> str:
    lines = ["| # | what | this registry | baseline (same run) | ratio | target | result | note |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        base = f"{row.baseline_name}: {fmt(row.baseline, row.unit)}" if row.baseline else "—"
        lines.append(f"| {row.number} | {row.what} | {fmt(row.ours, row.unit)} | {base} | {ratio_text(row)} | "
                     f"{row.target} | {verdict(row)} | {row.note} |")
    return "\n".join(lines)


def save(rows: list[Row], context: dict) -> None:
    data = {"context": context, "rows": [asdict(row) for row in rows]}
    FIGURES.write_text(json.dumps(data, indent=1, default=str))


def load() -> tuple[list[Row], dict]:
    data = json.loads(FIGURES.read_text())
    rows = []
    for raw in data["rows"]:
        raw["ours"] = Stat(raw["ours"]["values"]) if raw["ours"] else None
        raw["baseline"] = Stat(raw["baseline"]["values"]) if raw["baseline"] else None
        rows.append(Row(**raw))
    return rows, data["context"]


def _command(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "?"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    return {"cpu": f"{cpu}, {os.cpu_count()} cores", "memory": f"{memory} GiB", "kernel": platform.release(),
            "os": _command(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
            "python": sys.version.split()[0], "load average at start": " ".join(f"{load:.2f}" for load in os.getloadavg())}


def python_versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("ngc-registry", "uvicorn", "fastapi", "starlette", "sqlalchemy",
                                              "httptools", "uvloop", "httpx")}


def write_markdown(rows: list[Row], context: dict) -> None:
    parts = ["# `make bench` results", "",
             f"Written by `make bench` (`bench/run.py`) on {context['finished']}; total {context['minutes']:.1f} min. "
             f"Medians of {common.RUNS} runs with (min–max) unless a note says otherwise; every baseline was "
             "measured in the same run, interleaved with ours. Ratio = ours / baseline (for times: lower is better).", "",
             "## Machine and versions", ""]
    for section in ("machine", "versions", "server"):
        parts += [f"- **{key}**: {value}" for key, value in context.get(section, {}).items()]
    parts += ["", "## Results", "", table(rows), ""]
    if ANALYSIS.exists():
        parts += [ANALYSIS.read_text().strip(), ""]
    RESULTS.write_text("\n".join(parts))


def print_table(rows: list[Row]) -> None:
    print("\n" + table(rows) + "\n", flush=True)


if __name__ == "__main__":  # re-render RESULTS.md from the last run's figures (after editing analysis.md)
    saved_rows, saved_context = load()
    write_markdown(saved_rows, saved_context)
    print_table(saved_rows)
