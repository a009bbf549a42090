"""Output formats: ascii tables in the guide's `+----+` style, csv, json, and `Key: value` blocks."""

from __future__ import annotations

import io
import json

from ngc_registry.cli.output import Output, display_value, render_block, render_csv, render_table


def printed(format_type, call):
    stream = io.StringIO()
    call(Output(format_type, stream))
    return stream.getvalue()


def test_ascii_table_has_plus_dash_borders_and_left_aligned_cells():
    text = render_table(["Id", "Name"], [[1, "team-a"], [22, "b"]])
    lines = text.splitlines()
    assert lines[0] == lines[2] == lines[-1] == "+----+--------+"
    assert lines[1] == "| Id | Name   |"
    assert lines[3] == "| 1  | team-a |"


def test_csv_has_header_and_quotes_commas():
    assert render_csv(["Name", "Roles"], [["a", ["X", "Y"]]]) == 'Name,Roles\na,"X, Y"'


def test_table_in_json_prints_the_objects_not_the_rows():
    objects = [{"id": 1, "name": "team-a"}]
    text = printed("json", lambda out: out.table(["Id", "Name"], [[1, "team-a"]], objects))
    assert json.loads(text) == objects


def test_block_is_dashed_title_flush_left_pairs_dashed():
    text = render_block("Team Information", [("Id", 363), ("Name", "team-a"), ("Deleted", False)])
    lines = text.splitlines()
    assert lines[0] == lines[-1] and set(lines[0]) == {"-"}
    assert lines[1:-1] == ["Team Information", "Id: 363", "Name: team-a", "Deleted: False"]


def test_block_rule_grows_with_long_lines_up_to_a_limit():
    assert len(render_block("T", [("Key", "v" * 60)]).splitlines()[0]) == len("Key: " + "v" * 60)
    assert len(render_block("T", [("Key", "v" * 300)]).splitlines()[0]) == 100


def test_block_in_csv_and_json():
    pairs = [("Id", 1), ("Name", "x")]
    assert printed("csv", lambda out: out.block("T", pairs)) == "Id,Name\n1,x\n"
    assert json.loads(printed("json", lambda out: out.block("T", pairs))) == {"Id": 1, "Name": "x"}
    assert json.loads(printed("json", lambda out: out.block("T", pairs, {"id": 1}))) == {"id": 1}


def test_messages_print_in_ascii_only():
    assert printed("ascii", lambda out: out.message("Team created.")) == "Team created.\n"
    assert printed("csv", lambda out: out.message("Team created.")) == ""
    assert printed("json", lambda out: out.message("Team created.")) == ""


def test_display_value():
    assert display_value(None) == "" and display_value(True) == "True" and display_value(["a", "b"]) == "a, b"
