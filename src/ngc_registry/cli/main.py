"""`ngc`: the command table, the argument parser built from it, and the one error → exit-code boundary.

Adding a command group is one module with `register(group: CommandGroup)` plus one line in COMMAND_TABLE.
Only argparse and light modules load here, so `ngc --version` stays fast; httpx and prettytable load on use.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from .. import __version__
from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, RegistryError
from .context import Context
from .options import CommandGroup, HelpFormatter, apply_global_defaults, global_options_parser

# httpx imports its own command line (click, rich, pygments: ~55 ms) whenever those are installed, as they are next
# to the server; `ngc` never uses it. A None entry makes that import fail as it does where they are missing.
sys.modules.setdefault("httpx._main", None)

# (command path, module with `register(group)` or None for a plain group, help)
COMMAND_TABLE: list[tuple[str, str | None, str]] = [
    ("config", "ngc_registry.cli.commands.config", "Configure the CLI: API key, org, team, output format."),
    ("diag", "ngc_registry.cli.commands.diag", "Diagnostics of the client, the installation, the server and the user."),
    ("org", "ngc_registry.cli.commands.org", "Org commands: list, info, users, teams."),
    ("team", "ngc_registry.cli.commands.team", "Team commands: list, info, users."),
    ("user", "ngc_registry.cli.commands.user", "User commands."),
    ("registry", None, "Registry commands: images, models, model-scripts."),
    ("registry image", "ngc_registry.cli.commands.image", "Container image commands."),
    ("registry model", "ngc_registry.cli.commands.model", "Model commands."),
    ("registry model-script", "ngc_registry.cli.commands.registry_resource", "Model-script commands."),
    ("registry resource", "ngc_registry.cli.commands.registry_resource", "Resource (model-script) commands."),
]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given the command line, only the command modules it names are imported and registered
    (the other groups stay as names with their help), which halves the start-up time of every command."""
    words = None if argv is None else set(argv)
    common = global_options_parser()
    # No abbreviations: `--format` (image pull, model create) must never be taken for `--format_type`.
    parser = argparse.ArgumentParser(prog="ngc", description="NGC Registry CLI", parents=[common],
                                     formatter_class=HelpFormatter, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"NGC Registry CLI {__version__}",
                        help="Show the CLI version and exit.")
    groups = {"": CommandGroup(parser, common)}
    for path, module_name, help_text in COMMAND_TABLE:
        parent_path, _, name = path.rpartition(" ")
        group = groups[parent_path].group(name, help_text)
        groups[path] = group
        if module_name and (words is None or set(path.split()) <= words):
            importlib.import_module(module_name).register(group)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen command; every error becomes one line on stderr and an exit code."""
    ctx = Context(args)
    try:
        return args.func(ctx) or 0
    except RegistryError as err:
        return report_error(err.message, err.exit_code, args.debug)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as err:  # a bug: say so in one line unless --debug asks for the traceback
        return report_error(f"Unexpected error ({type(err).__name__}: {err}). Run with --debug for details.",
                            EXIT_ERROR, args.debug)
    finally:
        ctx.close()


def report_error(message: str, exit_code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"Error: {' '.join(str(message).split())}", file=sys.stderr)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = apply_global_defaults(build_parser(argv).parse_args(argv))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
