"""Client configuration: `$NGC_CLI_HOME/.ngc/config` ([CURRENT] section), environment and global flags.

Precedence is flag > environment > file > default. The words `no-apikey`, `no-org` and `no-team` remove a value
at the level they appear (so `NGC_CLI_TEAM=no-team` hides the team of the config file).
"""

from __future__ import annotations

import configparser
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError

SECTION = "CURRENT"
FORMAT_TYPES = ("ascii", "csv", "json")
DEFAULT_API_URL = "http://127.0.0.1:8000"
SETTING_NAMES = ("apikey", "format_type", "org", "team", "api_url")
ENV_VARS: dict[str, tuple[str, ...]] = {
    "apikey": ("NGC_CLI_API_KEY", "NGC_API_KEY"),
    "format_type": ("NGC_CLI_FORMAT_TYPE",),
    "org": ("NGC_CLI_ORG",),
    "team": ("NGC_CLI_TEAM",),
    "api_url": ("NGC_CLI_API_URL",),
}
UNSET_WORDS = {"apikey": "no-apikey", "org": "no-org", "team": "no-team"}
DEFAULTS = {"format_type": "ascii", "api_url": DEFAULT_API_URL}

SOURCE_FLAG = "global argument"
SOURCE_ENV = "environment variable"
SOURCE_FILE = "user settings"
SOURCE_DEFAULT = "default"


@dataclass(frozen=True)
class Setting:
    value: str | None
    source: str


@dataclass(frozen=True)
class Config:
    """The resolved settings and where each came from."""

    settings: dict[str, Setting]
    path: Path

    def value(self, name: str) -> str | None:
        return self.settings[name].value

    @property
    def apikey(self) -> str | None:
        return self.value("apikey")

    @property
    def format_type(self) -> str:
        return self.value("format_type") or DEFAULTS["format_type"]

    @property
    def org(self) -> str | None:
        return self.value("org")

    @property
    def team(self) -> str | None:
        return self.value("team") if self.org else None

    @property
    def api_url(self) -> str:
        return self.value("api_url") or DEFAULT_API_URL


def ngc_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    home = environ.get("NGC_CLI_HOME") or str(Path.home())
    return Path(home).expanduser() / ".ngc"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    return ngc_dir(environ) / "config"


def token_cache_path(environ: Mapping[str, str] | None = None) -> Path:
    return ngc_dir(environ) / "tokens.json"


def mask_key(key: str | None) -> str:
    """`****` and the last four characters; never more of a key is shown."""
    if not key:
        return ""
    return "****" + key[-4:] if len(key) > 8 else "****"


def normalize_api_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def read_config_file(path: Path) -> dict[str, str]:
    """The [CURRENT] values of the config file; a missing file is empty, a malformed one a ConfigError."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"Cannot read the configuration file {path}: {exc.strerror or exc}.") from exc
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise ConfigError(f"Malformed configuration file {path}{where}: {first_line}") from exc
    return dict(parser[SECTION]) if parser.has_section(SECTION) else {}


def write_config_file(path: Path, values: Mapping[str, str | None]) -> None:
    """Replace the [CURRENT] section (other sections are kept); the file is written with mode 0600."""
    from ..client.tokens import write_private_file

    parser = configparser.ConfigParser(interpolation=None)
    if path.is_file():
        try:
            parser.read_string(path.read_text(), source=str(path))
        except configparser.Error:
            parser = configparser.ConfigParser(interpolation=None)  # being overwritten: the old content goes
    parser.remove_section(SECTION)
    parser.add_section(SECTION)
    for name in SETTING_NAMES:
        if values.get(name):
            parser[SECTION][name] = values[name]
    buffer = io.StringIO()
    parser.write(buffer)
    write_private_file(path, buffer.getvalue())


def _setting_from(name: str, raw: str | None, source: str) -> Setting | None:
    """A setting from one level, or None when that level does not mention it."""
    if raw is None:
        return None
    raw = raw.strip()
    if raw == "":
        return None if source != SOURCE_FLAG else Setting(None, source)
    if raw == UNSET_WORDS.get(name):
        return Setting(None, source)
    return Setting(raw, source)


def _env_value(name: str, environ: Mapping[str, str]) -> str | None:
    for variable in ENV_VARS[name]:
        if environ.get(variable):
            return environ[variable]
    return None


def _check_setting(name: str, setting: Setting, where: str) -> Setting:
    if name == "format_type" and setting.value is not None and setting.value not in FORMAT_TYPES:
        raise ConfigError(f"Invalid format type '{setting.value}' in {where}: choose one of {', '.join(FORMAT_TYPES)}.")
    if name == "api_url" and setting.value is not None:
        return Setting(normalize_api_url(setting.value), setting.source)
    return setting


def resolve_config(flags: Mapping[str, str | None], environ: Mapping[str, str], file_values: Mapping[str, str],
                   path: Path) -> Config:
    """Pick each setting from the highest level that mentions it: flag, environment, file, default."""
    settings = {}
    for name in SETTING_NAMES:
        candidates = [(_setting_from(name, flags.get(name), SOURCE_FLAG), "the command line"),
                      (_setting_from(name, _env_value(name, environ), SOURCE_ENV), " or ".join(ENV_VARS[name])),
                      (_setting_from(name, file_values.get(name), SOURCE_FILE), str(path))]
        chosen = next(((setting, where) for setting, where in candidates if setting is not None), None)
        setting = _check_setting(name, *chosen) if chosen else Setting(DEFAULTS.get(name), SOURCE_DEFAULT)
        settings[name] = setting
    return Config(settings=settings, path=path)


def load_config(flags: Mapping[str, str | None] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    return resolve_config(flags or {}, environ, read_config_file(path), path)
