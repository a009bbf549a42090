"""Rendering command results: ascii tables (`+----+` style), csv for tables, json for everything.

A "block" is the guide's `Key: value` listing: a dashed line, the title, flush-left `Key: value` lines, a dashed
line. The render_* functions are pure; `Output` prints what they return in the configured format.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any, Iterable, Sequence, TextIO

MIN_RULE_WIDTH = 52
MAX_RULE_WIDTH = 100

Row = Sequence[Any]
Pairs = Sequence[tuple[str, Any]]


def display_value(value: Any) -> str:
    """How one value reads in a table cell or a `Key: value` line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(display_value(item) for item in value)
    return str(value)


def render_table(columns: Sequence[str], rows: Iterable[Row]) -> str:
    from prettytable import PrettyTable

    table = PrettyTable()
    table.field_names = list(columns)
    table.align = "l"
    for row in rows:
        table.add_row([display_value(cell) for cell in row])
    return table.get_string()


def render_csv(columns: Sequence[str], rows: Iterable[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([display_value(cell) for cell in row] for row in rows)
    return buffer.getvalue().rstrip("\n")


def render_json(data: Any) -> str:
    return json.dumps(data, indent=4, default=str)


def render_block(title: str, pairs: Pairs) -> str:
    lines = [title] + [f"{key}: {display_value(value)}" for key, value in pairs]
    rule = "-" * min(MAX_RULE_WIDTH, max(MIN_RULE_WIDTH, *(len(line) for line in lines)))
    return "\n".join([rule, *lines, rule])


class Output:
    """Prints results in one format; status messages go to ascii output only, so csv and json stay parseable."""

    def __init__(self, format_type: str = "ascii", stream: TextIO | None = None):
        self.format_type = format_type
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    @property
    def is_json(self) -> bool:
        return self.format_type == "json"

    def write(self, text: str) -> None:
        print(text, file=self.stream)

    def message(self, text: str) -> None:
        if self.format_type == "ascii":
            self.write(text)

    def json(self, data: Any) -> None:
        self.write(render_json(data))

    def table(self, columns: Sequence[str], rows: Iterable[Row], data: Any = None) -> None:
        """A table; json prints `data` (the objects the rows were made from) instead."""
        if self.is_json:
            self.json(data)
        elif self.format_type == "csv":
            self.write(render_csv(columns, rows))
        else:
            self.write(render_table(columns, rows))

    def block(self, title: str, pairs: Pairs, data: Any = None) -> None:
        """A `Key: value` block; csv prints the keys as a header row and the values as one row."""
        if self.is_json:
            self.json(data if data is not None else {key: value for key, value in pairs})
        elif self.format_type == "csv":
            self.write(render_csv([key for key, _ in pairs], [[value for _, value in pairs]]))
        else:
            self.write(render_block(title, pairs))
