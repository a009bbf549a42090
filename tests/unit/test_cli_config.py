"""Config resolution: flag > environment > file > default, unset words, masking, file errors and file mode."""

from __future__ import annotations

import stat

import pytest

from ngc_registry.cli.config import (DEFAULT_API_URL, SOURCE_DEFAULT, SOURCE_ENV, SOURCE_FILE, SOURCE_FLAG,
                                     config_path, load_config, mask_key, normalize_api_url, read_config_file,
                                     resolve_config, token_cache_path, write_config_file)
from ngc_registry.errors import ConfigError

FILE = {"apikey": "file-key-1234", "org": "fileorg", "team": "fileteam", "format_type": "csv",
        "api_url": "http://file:1"}


def resolve(flags=None, environ=None, file_values=None):
    return resolve_config(flags or {}, environ or {}, file_values or {}, path=config_path({"NGC_CLI_HOME": "/x"}))


def test_defaults_when_nothing_is_set():
    config = resolve()
    assert config.apikey is None and config.org is None and config.team is None
    assert config.format_type == "ascii" and config.api_url == DEFAULT_API_URL
    assert config.settings["api_url"].source == SOURCE_DEFAULT


def test_file_values_are_used_with_user_settings_source():
    config = resolve(file_values=FILE)
    assert (config.apikey, config.org, config.team, config.format_type) == ("file-key-1234", "fileorg", "fileteam", "csv")
    assert {setting.source for setting in config.settings.values()} == {SOURCE_FILE}


def test_environment_beats_file():
    environ = {"NGC_CLI_API_KEY": "env-key", "NGC_CLI_ORG": "envorg", "NGC_CLI_TEAM": "envteam",
               "NGC_CLI_FORMAT_TYPE": "json", "NGC_CLI_API_URL": "http://env:2/"}
    config = resolve(environ=environ, file_values=FILE)
    assert (config.apikey, config.org, config.team, config.format_type) == ("env-key", "envorg", "envteam", "json")
    assert config.api_url == "http://env:2"
    assert config.settings["org"].source == SOURCE_ENV


def test_flag_beats_environment_and_file():
    config = resolve(flags={"org": "flagorg", "team": "flagteam", "format_type": "ascii"},
                     environ={"NGC_CLI_ORG": "envorg", "NGC_CLI_FORMAT_TYPE": "json"}, file_values=FILE)
    assert (config.org, config.team, config.format_type) == ("flagorg", "flagteam", "ascii")
    assert config.settings["team"].source == SOURCE_FLAG


def test_ngc_cli_api_key_is_preferred_to_ngc_api_key():
    assert resolve(environ={"NGC_CLI_API_KEY": "a", "NGC_API_KEY": "b"}).apikey == "a"
    assert resolve(environ={"NGC_API_KEY": "b"}).apikey == "b"


def test_no_org_and_no_team_in_environment_remove_file_values():
    config = resolve(environ={"NGC_CLI_ORG": "no-org", "NGC_CLI_TEAM": "no-team"}, file_values=FILE)
    assert config.org is None and config.team is None
    assert config.settings["org"].source == SOURCE_ENV


def test_no_team_flag_removes_only_the_team():
    config = resolve(flags={"team": "no-team"}, file_values=FILE)
    assert config.org == "fileorg" and config.team is None


def test_team_without_org_is_not_used():
    assert resolve(file_values={"team": "lonely"}).team is None


def test_invalid_format_type_in_environment_is_a_config_error():
    with pytest.raises(ConfigError, match="NGC_CLI_FORMAT_TYPE"):
        resolve(environ={"NGC_CLI_FORMAT_TYPE": "yaml"})


@pytest.mark.parametrize("key, masked", [("abcdefghijcdef", "****cdef"), ("short", "****"), (None, ""),
                                         ("nvapi-0123456789abcd", "****abcd")])
def test_mask_key_shows_at_most_the_last_four_characters(key, masked):
    assert mask_key(key) == masked


@pytest.mark.parametrize("url, expected", [("127.0.0.1:8000", "http://127.0.0.1:8000"),
                                           ("https://reg.example/", "https://reg.example"),
                                           (" http://h:1 ", "http://h:1")])
def test_normalize_api_url(url, expected):
    assert normalize_api_url(url) == expected


def test_paths_follow_ngc_cli_home(tmp_path):
    environ = {"NGC_CLI_HOME": str(tmp_path)}
    assert config_path(environ) == tmp_path / ".ngc" / "config"
    assert token_cache_path(environ) == tmp_path / ".ngc" / "tokens.json"


def test_missing_file_reads_as_empty(tmp_path):
    assert read_config_file(tmp_path / "nope") == {}


def test_malformed_file_is_a_one_line_config_error_naming_the_file(tmp_path):
    path = tmp_path / "config"
    path.write_text("[CURRENT\napikey = x\n")
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert str(path) in caught.value.message and "\n" not in caught.value.message


def test_duplicate_option_is_malformed(tmp_path):
    path = tmp_path / "config"
    path.write_text("[CURRENT]\norg = a\norg = b\n")
    with pytest.raises(ConfigError, match="Malformed configuration file"):
        read_config_file(path)


def test_write_then_read_round_trip_with_mode_0600(tmp_path):
    path = tmp_path / ".ngc" / "config"
    write_config_file(path, {"apikey": "k%1", "org": "o", "team": None, "format_type": "json"})
    assert read_config_file(path) == {"apikey": "k%1", "org": "o", "format_type": "json"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_keeps_other_sections(tmp_path):
    path = tmp_path / "config"
    path.write_text("[OTHER]\nx = 1\n\n[CURRENT]\norg = old\n")
    write_config_file(path, {"org": "new"})
    text = path.read_text()
    assert "[OTHER]" in text and "org = new" in text and "old" not in text


def test_load_config_reads_the_file_under_ngc_cli_home(tmp_path):
    environ = {"NGC_CLI_HOME": str(tmp_path)}
    write_config_file(config_path(environ), {"org": "o1", "team": "t1"})
    config = load_config({"team": None}, environ)
    assert (config.org, config.team) == ("o1", "t1")
