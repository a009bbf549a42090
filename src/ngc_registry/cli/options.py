"""The argparse tree: global options accepted at every level, and `CommandGroup` for registering commands.

Global options live in a parent parser whose defaults are `SUPPRESS`, so a sub-level that is not given an option
leaves the value of a higher level alone (`ngc --org x team list` and `ngc team list --org x` both work).
"""

from __future__ import annotations

import argparse
from typing import Callable

from .config import FORMAT_TYPES

GLOBAL_DEFAULTS = {"org": None, "team": None, "format_type": None, "debug": False}

CommandFunc = Callable[..., "int | None"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=32)


def global_options_parser() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = parent.add_argument_group("global options")
    group.add_argument("--org", metavar="<name>", help="Org to use instead of the configured one ('no-org': none).")
    group.add_argument("--team", metavar="<name>",
                       help="Team to use instead of the configured one ('no-team': none).")
    group.add_argument("--format_type", "--format-type", dest="format_type", metavar="<fmt>", choices=FORMAT_TYPES,
                       help="Output format: ascii, csv or json.")
    group.add_argument("--debug", action="store_true", help="Show HTTP requests and tracebacks.")
    return parent


def apply_global_defaults(args: argparse.Namespace) -> argparse.Namespace:
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return args


def print_help_of(parser: argparse.ArgumentParser) -> CommandFunc:
    def show_help(ctx) -> int:
        parser.print_help()
        return 0
    return show_help


class CommandGroup:
    """A parser with subcommands; every parser it creates takes the global options and `-h`."""

    def __init__(self, parser: argparse.ArgumentParser, common: argparse.ArgumentParser):
        self.parser = parser
        self.common = common
        self._subparsers = None
        parser.set_defaults(func=print_help_of(parser))

    def _add_parser(self, name: str, help_text: str, description: str | None) -> argparse.ArgumentParser:
        if self._subparsers is None:
            self._subparsers = self.parser.add_subparsers(title="commands", metavar="<command>")
        return self._subparsers.add_parser(name, help=help_text, description=description or help_text,
                                           parents=[self.common], formatter_class=HelpFormatter, allow_abbrev=False)

    def command(self, name: str, func: CommandFunc, help_text: str,
                description: str | None = None) -> argparse.ArgumentParser:
        parser = self._add_parser(name, help_text, description)
        parser.set_defaults(func=func)
        return parser

    def group(self, name: str, help_text: str, description: str | None = None) -> CommandGroup:
        return CommandGroup(self._add_parser(name, help_text, description), self.common)
