"""What a command runs with: parsed arguments, resolved configuration, output, and a lazily opened API client."""

from __future__ import annotations

import argparse
import os
import sys
from functools import cached_property
from typing import Mapping, TextIO

from ..errors import ConfigError, UnauthorizedError
from .config import Config, load_config, token_cache_path
from .output import Output

NO_ORG_MESSAGE = "No org given: use --org <name> or set one with 'ngc config set'."
NO_TEAM_MESSAGE = "No team given: use --team <name> or set one with 'ngc config set'."


class Context:
    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str] | None = None,
                 stdin: TextIO | None = None, stderr: TextIO | None = None):
        self.args = args
        self.environ = os.environ if environ is None else environ
        self.stdin = stdin or sys.stdin
        self.stderr = stderr or sys.stderr
        self._apis: list = []

    @property
    def debug(self) -> bool:
        return bool(getattr(self.args, "debug", False))

    @cached_property
    def config(self) -> Config:
        flags = {name: getattr(self.args, name, None) for name in ("org", "team", "format_type")}
        return load_config(flags, self.environ)

    @cached_property
    def out(self) -> Output:
        try:
            return Output(self.config.format_type)
        except ConfigError:
            return Output(getattr(self.args, "format_type", None) or "ascii")  # so the error itself still prints

    @cached_property
    def api(self):
        config = self.config
        return self.connect(config.apikey, org=config.org, team=config.team, api_url=config.api_url)

    def connect(self, api_key: str | None, *, org: str | None = None, team: str | None = None,
                api_url: str | None = None):
        """A `RegistryApi` for other credentials than the configured ones (e.g. a key being validated)."""
        from ..client.api import connect

        api = connect(api_url or self.config.api_url, api_key, org=org, team=team,
                      token_cache_path=token_cache_path(self.environ), debug_log=self.log_debug if self.debug else None)
        self._apis.append(api)
        return api

    def log_debug(self, text: str) -> None:
        print(f"DEBUG: {text}", file=self.stderr)

    def require_org(self, org: str | None = None) -> str:
        org = org or self.config.org
        if not org:
            raise ConfigError(NO_ORG_MESSAGE)
        return org

    def require_team(self, team: str | None = None) -> str:
        team = team or self.config.team
        if not team:
            raise ConfigError(NO_TEAM_MESSAGE)
        return team

    def require_api_key(self) -> str:
        if not self.config.apikey:
            raise UnauthorizedError("No API key configured: run 'ngc config set' or set NGC_CLI_API_KEY.")
        return self.config.apikey

    def ask(self, prompt: str) -> str:
        """One answer from standard input; end of input is an error, never an endless loop."""
        try:
            if self.stdin is sys.stdin and self.stdin_is_tty:
                return input(prompt).strip()
            print(prompt, end="", flush=True)
            line = self.stdin.readline()
            if not line:
                raise EOFError
            print()  # the answer was not echoed: end the prompt's line
            return line.strip()
        except EOFError:
            print()
            raise ConfigError("No answer: standard input ended before the configuration was complete.") from None

    @property
    def stdin_is_tty(self) -> bool:
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def close(self) -> None:
        for api in self._apis:
            api.close()
        self._apis.clear()
