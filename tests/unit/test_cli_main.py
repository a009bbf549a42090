"""The command tree and the one error boundary: global options at every level, exit codes, start-up cost."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys

import pytest

from ngc_registry import __version__
from ngc_registry.cli.main import COMMAND_TABLE, build_parser, main
from ngc_registry.cli.options import apply_global_defaults


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    for name in ("NGC_CLI_API_KEY", "NGC_API_KEY", "NGC_CLI_ORG", "NGC_CLI_TEAM", "NGC_CLI_FORMAT_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NGC_CLI_HOME", str(tmp_path))
    monkeypatch.setenv("NGC_CLI_API_URL", f"http://127.0.0.1:{closed_port()}")
    return tmp_path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse(*argv):
    return apply_global_defaults(build_parser().parse_args(list(argv)))


@pytest.mark.parametrize("argv", [
    ["--org", "o", "--team", "t", "--format_type", "json", "team", "list"],
    ["team", "--org", "o", "--team", "t", "--format_type", "json", "list"],
    ["team", "list", "--org", "o", "--team", "t", "--format_type", "json"],
    ["--org", "o", "team", "--team", "t", "list", "--format_type", "json"],
])
def test_global_options_are_accepted_at_every_level(argv):
    args = parse(*argv)
    assert (args.org, args.team, args.format_type) == ("o", "t", "json")


def test_a_lower_level_does_not_reset_a_higher_level_value():
    args = parse("--debug", "--org", "top", "registry", "image")
    assert args.org == "top" and args.debug is True


def test_lower_level_value_wins_over_higher_level():
    assert parse("--org", "top", "org", "list", "--org", "low").org == "low"


def test_global_defaults_when_not_given():
    args = parse("org", "list")
    assert (args.org, args.team, args.format_type, args.debug) == (None, None, None, False)


def test_format_type_dash_spelling_is_accepted():
    assert parse("org", "list", "--format-type", "csv").format_type == "csv"


def every_command_path():
    paths = []

    def walk(parser, path):
        paths.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, path + [name])
    walk(build_parser(), [])
    return paths


@pytest.mark.parametrize("path", every_command_path(), ids=lambda path: " ".join(path) or "ngc")
def test_help_and_global_options_at_every_level(path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(path + ["--org", "o", "-h"])
    assert exited.value.code == 0
    assert "--format_type" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"NGC Registry CLI {__version__}"


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["org", "add-team"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["--format_type", "yaml", "org", "list"])
    assert exited.value.code == 2


def test_group_without_command_prints_its_help(capsys):
    assert main(["org"]) == 0
    assert "add-team" in capsys.readouterr().out


def test_every_registry_group_is_implemented():
    from ngc_registry.cli.main import COMMAND_TABLE

    assert all(module != "ngc_registry.cli.commands.stub" for _, module, _ in COMMAND_TABLE)


def test_connection_refused_is_one_line_naming_the_url(capsys, monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("NGC_CLI_API_URL", url)
    assert main(["org", "list"]) == 1
    assert capsys.readouterr().err == f"Error: Unable to connect to the server at {url}: connection refused.\n"


def test_missing_org_is_a_config_error(capsys):
    assert main(["team", "list"]) == 1
    assert capsys.readouterr().err.startswith("Error: No org given")


def test_malformed_config_exits_1_with_one_line(isolated_home, capsys):
    (isolated_home / ".ngc").mkdir()
    (isolated_home / ".ngc" / "config").write_text("not an ini file\n")
    assert main(["config", "current"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Error: Malformed configuration file")
    assert "Traceback" not in err


def test_debug_shows_the_traceback(isolated_home, capsys):
    (isolated_home / ".ngc").mkdir()
    (isolated_home / ".ngc" / "config").write_text("not an ini file\n")
    assert main(["--debug", "config", "current"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(ctx):
        raise KeyboardInterrupt
    monkeypatch.setattr("ngc_registry.cli.commands.org.run_list", interrupted)
    assert main(["org", "list"]) == 130


def test_unexpected_exception_is_one_line_without_debug(monkeypatch, capsys):
    def broken(ctx):
        raise ValueError("boom")
    monkeypatch.setattr("ngc_registry.cli.commands.org.run_list", broken)
    assert main(["org", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Unexpected error (ValueError: boom)") and "Traceback" not in err


def test_command_table_modules_register_their_group():
    assert {path.split()[0] for path, _, _ in COMMAND_TABLE} >= {"config", "diag", "org", "team", "user", "registry"}


def test_startup_does_not_import_httpx_or_prettytable():
    code = ("import sys; from ngc_registry.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m, module in sys.modules.items() "
            "if module is not None and m.split('.')[0] in ('httpx', 'prettytable')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_httpx_loads_without_its_command_line():
    """httpx would import its own CLI (click, rich, pygments) since they are installed; `ngc` never needs it."""
    code = ("import sys; import ngc_registry.cli.main; import httpx; httpx.Client().close(); "
            "print(sorted(m for m, module in sys.modules.items() if module is not None "
            "and m.split('.')[0] in ('click', 'rich', 'pygments') or m == 'httpx._main' and module is not None))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_module_entry_point_runs(isolated_home):
    result = subprocess.run([sys.executable, "-m", "ngc_registry.cli.main", "--version"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"NGC Registry CLI {__version__}"
