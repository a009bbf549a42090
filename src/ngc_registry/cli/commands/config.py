"""`ngc config set | current | clear`.

`config set` prompts like the official client unless values are given as flags; either way the key is checked
by asking for an unscoped token (or the caller info of an `nvapi-` key) and org/team are checked against the
lists the server returns for that key.
"""

from __future__ import annotations

from ...client.tokens import TokenCache
from ...errors import ConfigError, InvalidApiKeyError, OrgNotFoundError, RegistryError, TeamNotFoundError
from ..config import (FORMAT_TYPES, UNSET_WORDS, config_path, mask_key, normalize_api_url,
                      read_config_file, token_cache_path, write_config_file)
from ..options import CommandGroup

NO_APIKEY, NO_ORG, NO_TEAM = UNSET_WORDS["apikey"], UNSET_WORDS["org"], UNSET_WORDS["team"]


def register(group: CommandGroup) -> None:
    set_parser = group.command(
        "set", run_set, "Set the API key, output format, org and team.",
        "Set the API key, output format, org and team. Prompts for each unless one of --apikey, --org, --team,\n"
        "--format_type or --api-url is given; then only the given values change.")
    set_parser.add_argument("--apikey", metavar="<key>", default=None, help="API key ('no-apikey': none).")
    set_parser.add_argument("--api-url", "--api_url", dest="api_url", metavar="<url>", default=None,
                            help=f"Registry server URL (default {normalize_api_url('127.0.0.1:8000')}).")
    group.command("current", run_current, "Show the configuration in effect and where each value comes from.")
    group.command("clear", run_clear, "Remove the saved configuration and cached tokens.")


# -- set ------------------------------------------------------------------------------------------------------

class Setter:
    """Collects new values for one `config set`, by prompt or from flags, validating them against the server."""

    def __init__(self, ctx, interactive: bool):
        self.ctx = ctx
        self.interactive = interactive
        self.api_url = normalize_api_url(ctx.args.api_url) if ctx.args.api_url else ctx.config.api_url
        self.api = None
        self.key_info: dict | None = None

    def retry_or_fail(self, message: str, error: RegistryError) -> None:
        """Interactive and on a terminal: say why and ask again; otherwise fail instead of looping."""
        if not (self.interactive and self.ctx.stdin_is_tty):
            raise error
        print(message)

    def ask(self, what: str, default: str, choices: list[str]) -> str:
        answer = self.ctx.ask(f"Enter {what} [{default}]. Choices: {choices}: ")
        return answer or default

    # key

    def check_key(self, key: str | None) -> bool:
        self.api = self.ctx.connect(key, api_url=self.api_url)
        if key is None:
            return True
        try:
            info = self.api.validate_api_key()
        except RegistryError as err:
            if not 400 <= err.status < 500:
                raise
            self.retry_or_fail(f"Invalid API key for NGC service location [{self.api_url}]. Please try again.",
                               InvalidApiKeyError(f"Invalid API key for NGC service location [{self.api_url}]."))
            return False
        self.key_info = info if "user" in info else None
        return True

    def prompt_key(self, current: str | None) -> str | None:
        while True:
            answer = self.ask("API key", mask_key(current) if current else NO_APIKEY, ["<VALID_APIKEY>", NO_APIKEY])
            key = None if answer == NO_APIKEY else current if answer == mask_key(current) else answer
            if self.check_key(key):
                return key

    # format

    def prompt_format(self, current: str | None) -> str:
        while True:
            answer = self.ask("CLI output format type", current or "ascii", list(FORMAT_TYPES))
            if answer in FORMAT_TYPES:
                return answer
            self.retry_or_fail("Invalid format type. Please try again.",
                               ConfigError(f"Invalid format type '{answer}': choose one of {', '.join(FORMAT_TYPES)}."))

    # org and team

    def org_choices(self) -> list[tuple[str, str]]:
        """(name, label) of the orgs the key may use; the label is `Display Name (name)`."""
        if self.key_info is not None:
            return [(self.key_info["orgName"], self.key_info["orgName"])] if self.key_info.get("orgName") else []
        orgs = self.api.list_orgs().get("organizations") or []
        return [(org["name"], f"{org.get('displayName') or org['name']} ({org['name']})") for org in orgs]

    def team_choices(self, org: str) -> list[str]:
        if self.key_info is not None:
            roles = (self.key_info.get("user") or {}).get("roles") or []
            return sorted({role["team"]["name"] for role in roles
                           if role.get("team") and (role.get("org") or {}).get("name", org) == org})
        return [team["name"] for team in self.api.list_teams(org).get("teams") or []]

    def choose_org(self, wanted: str | None) -> str | None:
        choices = self.org_choices()
        names = [name for name, _ in choices]
        while True:
            if self.interactive:
                default = wanted if wanted in names else (names[0] if names else NO_ORG)
                wanted = self.ask("org", default, [label for _, label in choices])
            org = next((name for name, label in choices if wanted in (name, label)), None)
            if org or wanted in (None, NO_ORG):
                return org
            self.retry_or_fail("Invalid org. Please try again.",
                               OrgNotFoundError(f"Invalid org '{wanted}': choose one of {', '.join(names) or '(none)'}."))

    def choose_team(self, org: str | None, wanted: str | None) -> str | None:
        if org is None:
            return None
        names = self.team_choices(org)
        while True:
            if self.interactive:
                wanted = self.ask("team", wanted if wanted in names else NO_TEAM, names + [NO_TEAM])
            if wanted in (None, NO_TEAM) or wanted in names:
                return None if wanted == NO_TEAM else wanted
            self.retry_or_fail("Invalid team. Please try again.",
                               TeamNotFoundError(f"Invalid team '{wanted}' in org '{org}': "
                                                 f"choose one of {', '.join(names + [NO_TEAM])}."))


def flag_values(ctx) -> dict[str, str]:
    """Values given on the command line for `config set` (global options included)."""
    names = ("apikey", "format_type", "org", "team", "api_url")
    return {name: getattr(ctx.args, name) for name in names if getattr(ctx.args, name, None) is not None}


def run_set(ctx) -> int:
    path = config_path(ctx.environ)
    saved = read_config_file(path)
    given = flag_values(ctx)
    setter = Setter(ctx, interactive=not given)
    values = collect_interactively(setter, saved) if setter.interactive else collect_from_flags(setter, saved, given)
    api_url = given.get("api_url") or saved.get("api_url")
    values["api_url"] = normalize_api_url(api_url) if api_url else None
    write_config_file(path, values)
    print(f"Successfully saved NGC configuration to {path}")
    return 0


def collect_interactively(setter: Setter, saved: dict[str, str]) -> dict[str, str | None]:
    apikey = setter.prompt_key(saved.get("apikey"))
    format_type = setter.prompt_format(saved.get("format_type"))
    org = setter.choose_org(saved.get("org")) if apikey else None
    team = setter.choose_team(org, saved.get("team")) if apikey else None
    return {"apikey": apikey, "format_type": format_type, "org": org, "team": team}


def collect_from_flags(setter: Setter, saved: dict[str, str], given: dict[str, str]) -> dict[str, str | None]:
    merged = {**saved, **given}
    apikey = None if merged.get("apikey") in (None, NO_APIKEY) else merged["apikey"]
    setter.check_key(apikey)
    org, team = merged.get("org"), merged.get("team")
    if apikey:
        org = setter.choose_org(org)
        team = setter.choose_team(org, team)
    return {"apikey": apikey, "format_type": merged.get("format_type"),
            "org": None if org == NO_ORG else org, "team": None if team == NO_TEAM or not org else team}


# -- current and clear ------------------------------------------------------------------------------------------

def run_current(ctx) -> int:
    config = ctx.config
    rows = [[name, mask_key(setting.value) if name == "apikey" else setting.value, setting.source]
            for name, setting in config.settings.items() if setting.value is not None]
    data = [{"key": key, "value": value, "source": source} for key, value, source in rows]
    ctx.out.table(["Key", "Value", "Source"], rows, data)
    return 0


def run_clear(ctx) -> int:
    path = config_path(ctx.environ)
    path.unlink(missing_ok=True)
    TokenCache(token_cache_path(ctx.environ)).clear()
    print("Successfully cleared NGC configuration.")
    return 0

