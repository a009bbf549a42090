"""`ngc config set | current | clear` flows that need no server: guest mode, prompts, end of input."""

from __future__ import annotations

import io
import json
import socket
import stat

import pytest

from ngc_registry.cli.config import read_config_file
from ngc_registry.cli.main import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in ("NGC_CLI_API_KEY", "NGC_API_KEY", "NGC_CLI_ORG", "NGC_CLI_TEAM", "NGC_CLI_FORMAT_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NGC_CLI_HOME", str(tmp_path))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("NGC_CLI_API_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    return tmp_path


def config_file(home):
    return home / ".ngc" / "config"


def answer(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_interactive_guest_setup_saves_the_format(home, monkeypatch, capsys):
    answer(monkeypatch, "no-apikey\njson\n")
    assert main(["config", "set"]) == 0
    out = capsys.readouterr().out
    assert "Enter API key [no-apikey]. Choices: ['<VALID_APIKEY>', 'no-apikey']: " in out
    assert "Enter CLI output format type [ascii]. Choices: ['ascii', 'csv', 'json']: " in out
    assert out.rstrip().endswith(f"Successfully saved NGC configuration to {config_file(home)}")
    assert read_config_file(config_file(home)) == {"format_type": "json"}
    assert stat.S_IMODE(config_file(home).stat().st_mode) == 0o600


def test_empty_answers_keep_current_values(home, monkeypatch, capsys):
    config_file(home).parent.mkdir()
    config_file(home).write_text("[CURRENT]\nformat_type = csv\n")
    answer(monkeypatch, "\n\n")
    assert main(["config", "set"]) == 0
    assert "Enter CLI output format type [csv]" in capsys.readouterr().out
    assert read_config_file(config_file(home)) == {"format_type": "csv"}


def test_invalid_format_answer_fails_when_stdin_is_not_a_tty(home, monkeypatch, capsys):
    answer(monkeypatch, "no-apikey\nyaml\n")
    assert main(["config", "set"]) == 1
    assert "Invalid format type 'yaml'" in capsys.readouterr().err
    assert not config_file(home).exists()


def test_end_of_input_fails_instead_of_looping(home, monkeypatch, capsys):
    answer(monkeypatch, "no-apikey\n")
    assert main(["config", "set"]) == 1
    assert capsys.readouterr().err.startswith("Error: No answer")


def test_key_validation_needs_the_server(home, monkeypatch, capsys):
    answer(monkeypatch, "some-legacy-key\n")
    assert main(["config", "set"]) == 1
    assert "Unable to connect to the server" in capsys.readouterr().err


def test_flags_set_values_without_prompts(home, monkeypatch, capsys):
    answer(monkeypatch, "")
    assert main(["config", "set", "--format_type", "csv", "--api-url", "localhost:9999/"]) == 0
    assert "Enter" not in capsys.readouterr().out
    assert read_config_file(config_file(home)) == {"format_type": "csv", "api_url": "http://localhost:9999"}


def test_current_shows_sources_and_masks_the_key(home, monkeypatch, capsys):
    config_file(home).parent.mkdir()
    config_file(home).write_text("[CURRENT]\napikey = secret-key-abcd\norg = fileorg\n")
    monkeypatch.setenv("NGC_CLI_TEAM", "envteam")
    assert main(["--format_type", "json", "config", "current"]) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["apikey"] == {"key": "apikey", "value": "****abcd", "source": "user settings"}
    assert rows["team"]["source"] == "environment variable"
    assert rows["format_type"]["source"] == "global argument"


def test_current_ascii_never_prints_the_key(home, capsys):
    config_file(home).parent.mkdir()
    config_file(home).write_text("[CURRENT]\napikey = secret-key-abcd\n")
    assert main(["config", "current"]) == 0
    out = capsys.readouterr().out
    assert "****abcd" in out and "secret-key" not in out and out.startswith("+-")


def test_clear_removes_config_and_token_cache(home, capsys):
    config_file(home).parent.mkdir()
    config_file(home).write_text("[CURRENT]\norg = x\n")
    (home / ".ngc" / "tokens.json").write_text("{}")
    assert main(["config", "clear"]) == 0
    assert capsys.readouterr().out == "Successfully cleared NGC configuration.\n"
    assert not config_file(home).exists() and not (home / ".ngc" / "tokens.json").exists()


def test_clear_works_on_a_malformed_config(home, capsys):
    config_file(home).parent.mkdir()
    config_file(home).write_text("garbage")
    assert main(["config", "clear"]) == 0
