"""`ngc user who`: the caller, their org roles and their team roles."""

from __future__ import annotations

from ...client.tokens import is_personal_key
from ..options import CommandGroup
from ..views import org_role_rows, team_role_rows


def register(group: CommandGroup) -> None:
    group.command("who", run_who, "Show the user of the API key and their org and team roles.")


def current_user(ctx) -> dict:
    """The caller as a User object: from the caller info for an `nvapi-` key, else `GET /v2/users/me`."""
    api_key = ctx.require_api_key()
    if is_personal_key(api_key):
        return ctx.api.get_caller_info(api_key).get("user") or {}
    return ctx.api.get_current_user(ctx.config.org).get("user") or {}


def run_who(ctx) -> int:
    user = current_user(ctx)
    if ctx.out.is_json:
        ctx.out.json(user)
        return 0
    ctx.out.table(["User Id", "Name", "Email"], [[user.get("id"), user.get("name"), user.get("email")]])
    ctx.out.table(["Org", "Org Roles"], org_role_rows(user))
    ctx.out.table(["Team", "Team Roles"], team_role_rows(user))
    return 0
