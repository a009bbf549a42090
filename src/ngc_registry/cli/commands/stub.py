"""Placeholder for a command group that is in the table but not written yet: it says so and exits 1."""

from __future__ import annotations

import argparse

from ...errors import RegistryError
from ..options import CommandGroup


def register(group: CommandGroup) -> None:
    command = group.parser.prog

    def not_implemented(ctx) -> int:
        raise RegistryError(f"'{command}' is not implemented yet.")

    group.parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    group.parser.set_defaults(func=not_implemented)
