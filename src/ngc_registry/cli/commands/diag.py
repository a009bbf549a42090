"""`ngc diag [all|client|install|server|user]`: every item of the guide's chapter 4, plus the installation.

Each probe that fails is reported as a value (`failed (<reason>)`) so the other sections still print; the
command then exits 1. Only the stdlib is used for the machine's figures.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable

from ... import __version__
from ...errors import ConnectionFailedError, RegistryError
from ..config import ENV_VARS, mask_key
from ..options import CommandGroup
from ..views import org_role_rows, team_role_rows
from .user import current_user

SECTIONS = ("client", "install", "server", "user")
TITLES = {"client": "Client Information", "install": "Install Information", "server": "Server Information",
          "user": "User Information"}
DIR_SIZE_ENTRY_LIMIT = 100_000
SECRET_ENV_VARS = frozenset(ENV_VARS["apikey"]) | {"NGC_APP_KEY", "NGC_CLI_GUEST_TOKEN"}

Pairs = list[tuple[str, str]]


def register(group: CommandGroup) -> None:
    group.parser.add_argument("section", nargs="?", default="all", choices=("all",) + SECTIONS,
                              help="Which diagnostics to show (default: all).")
    group.parser.set_defaults(func=run_diag)


def run_diag(ctx) -> int:
    diagnostics = Diagnostics(ctx)
    sections = SECTIONS if ctx.args.section == "all" else (ctx.args.section,)
    results = {section: diagnostics.run_section(section) for section in sections}
    print_results(ctx.out, results)
    if diagnostics.failures:
        raise RegistryError(f"Diagnostics found {diagnostics.failures} failed check(s).")
    return 0


def print_results(out, results: dict[str, Pairs]) -> None:
    if out.is_json:
        out.json({section: dict(pairs) for section, pairs in results.items()})
    elif out.format_type == "csv":
        out.table(["Section", "Item", "Value"],
                  [[section, key, value] for section, pairs in results.items() for key, value in pairs])
    else:
        for section, pairs in results.items():
            out.block(TITLES[section], pairs)


# -- machine figures (pure) -------------------------------------------------------------------------------------

def format_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def parse_meminfo(text: str) -> dict[str, int]:
    """Bytes by field name from the text of /proc/meminfo (`MemTotal:  16318412 kB`)."""
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name.strip()] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    return values


def memory_usage(meminfo_path: Path = Path("/proc/meminfo")) -> str:
    try:
        info = parse_meminfo(meminfo_path.read_text())
    except OSError:
        return "unavailable on this system"
    total, available = info.get("MemTotal"), info.get("MemAvailable", info.get("MemFree"))
    if not total or available is None:
        return "unavailable on this system"
    return (f"Total: {format_bytes(total)}, Used: {format_bytes(total - available)}, "
            f"Available: {format_bytes(available)}")


def disk_usage(path: Path) -> str:
    usage = shutil.disk_usage(path)
    return f"Total: {format_bytes(usage.total)}, Used: {format_bytes(usage.used)}, Free: {format_bytes(usage.free)}"


def directory_size(path: Path, entry_limit: int = DIR_SIZE_ENTRY_LIMIT) -> str:
    """Total size of the files under `path` (symlinks not followed), stopping after `entry_limit` entries."""
    total, seen, pending = 0, 0, [path]
    while pending and seen < entry_limit:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    partial = pending and seen >= entry_limit
    return f"at least {format_bytes(total)} (stopped after {seen} entries)" if partial else format_bytes(total)


def ngc_environment(environ) -> str:
    """`NAME=value` for each NGC_ variable set, secrets masked."""
    names = sorted(name for name in environ if name.startswith("NGC_"))
    shown = [f"{name}={mask_key(environ[name]) if name in SECRET_ENV_VARS else environ[name]}" for name in names]
    return ", ".join(shown) or "None"


def failure_reason(err: RegistryError) -> str:
    if isinstance(err, ConnectionFailedError) and isinstance(err.detail, str):
        return err.detail
    return err.message.rstrip(".")


# -- probes ---------------------------------------------------------------------------------------------------

class Diagnostics:
    def __init__(self, ctx):
        self.ctx = ctx
        self.failures = 0
        self._answers: dict[str, tuple[dict | None, RegistryError | None]] = {}

    def run_section(self, section: str) -> Pairs:
        return [self.check(label, probe) for label, probe in getattr(self, f"{section}_probes")()]

    def check(self, label: str, probe: Callable[[], str]) -> tuple[str, str]:
        try:
            return label, probe()
        except RegistryError as err:
            self.failures += 1
            return label, f"failed ({failure_reason(err)})"
        except OSError as err:
            self.failures += 1
            return label, f"failed ({err.strerror or err})"

    def client_probes(self):
        cwd = Path.cwd()
        return [("Current time", lambda: datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")),
                ("Operating system", platform.platform),
                ("Disk usage", lambda: disk_usage(cwd)),
                ("Current directory size", lambda: directory_size(cwd)),
                ("Memory usage", memory_usage),
                ("NGC CLI environment variables set", lambda: ngc_environment(self.ctx.environ))]

    def install_probes(self):
        return [("CLI version", lambda: f"NGC Registry CLI {__version__}"),
                ("Python version", lambda: f"{platform.python_version()} ({sys.executable})"),
                ("Install path", lambda: str(Path(__file__).resolve().parents[2]))]

    def server_probes(self):
        return [("API URL", lambda: self.ctx.config.api_url),
                ("API gateway connectivity", lambda: f"ok (server version {self.health().get('version', '?')})"),
                ("API connectivity to the container registry", self.container_registry),
                ("API connectivity to the model registry", self.model_registry),
                ("External IP", lambda: self.health().get("clientAddress") or "unknown")]

    def user_probes(self):
        return [("NGC CLI configuration values", self.configuration_values),
                ("User information", lambda: self.user_text("info")),
                ("User org roles", lambda: self.user_text("org")),
                ("User team roles", lambda: self.user_text("team"))]

    def once(self, name: str, fetch: Callable[[], dict]) -> dict:
        """A server answer several items share, asked for once; a failure is re-raised for each of them."""
        if name not in self._answers:
            try:
                self._answers[name] = (fetch(), None)
            except RegistryError as err:
                self._answers[name] = (None, err)
        answer, error = self._answers[name]
        if error is not None:
            raise error
        return answer

    def health(self) -> dict:
        return self.once("health", self.ctx.api.get_health)

    def container_registry(self) -> str:
        status = self.ctx.api.check_container_registry()
        return "ok" if status == 200 else f"ok (HTTP {status}, authentication required)"

    def model_registry(self) -> str:
        self.ctx.api.search_models()
        return "ok"

    def configuration_values(self) -> str:
        settings = self.ctx.config.settings.items()
        return "; ".join(f"{name}={mask_key(s.value) if name == 'apikey' else s.value} ({s.source})"
                         for name, s in settings if s.value is not None)

    def user_text(self, part: str) -> str:
        if not self.ctx.config.apikey:
            return "not available (no API key configured)"
        user = self.once("user", lambda: current_user(self.ctx))
        if part == "info":
            return f"ID: {user.get('id')}, Name: {user.get('name')}, Email: {user.get('email')}"
        rows = org_role_rows(user) if part == "org" else team_role_rows(user)
        return "; ".join(f"{name}: {roles}" for name, roles in rows) or "None"
