"""`ngc registry model-script ...` and its newer name `ngc registry resource ...`: the model commands for resources."""

from __future__ import annotations

from ...client.registry_kinds import RESOURCES
from ..options import CommandGroup
from .model import register_kind


def register(group: CommandGroup) -> None:
    register_kind(group, RESOURCES)
