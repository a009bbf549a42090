"""`ngc team list | info | list-users | add-user` (guide chapter 7)."""

from __future__ import annotations

from ...refs import validate_email
from ..options import CommandGroup
from ..views import USER_COLUMNS, roles_in_team, team_pairs, team_row, user_pairs, user_row
from .org import DEFAULT_USER_ROLE, add_user_arguments


def register(group: CommandGroup) -> None:
    group.command("list", run_list, "List the teams of the org.")
    info = group.command("info", run_info, "Show a team (default: the configured team).")
    info.add_argument("team_name", nargs="?", metavar="<team>", help="Team name.")
    group.command("list-users", run_list_users, "List the users of the team.")
    add_user = group.command("add-user", run_add_user, "Add a user to the team (--team or the configured team).")
    add_user_arguments(add_user)
    remove_user = group.command("remove-user", run_remove_user, "Remove a user from the team.")
    remove_user.add_argument("email", metavar="<email>", help="Email address of the user.")


def run_list(ctx) -> int:
    teams = ctx.api.list_teams(ctx.require_org()).get("teams") or []
    ctx.out.table(["Id", "Name", "Description"], [team_row(team) for team in teams], teams)
    return 0


def run_info(ctx) -> int:
    org, team_name = ctx.require_org(), ctx.require_team(ctx.args.team_name)
    team = ctx.api.get_team(org, team_name).get("team") or {}
    ctx.out.block("Team Information", team_pairs(team), team)
    return 0


def run_list_users(ctx) -> int:
    org, team = ctx.require_org(), ctx.require_team()
    users = list(ctx.api.iter_users(org, team))
    ctx.out.table(USER_COLUMNS, [user_row(user, roles_in_team(user, org, team)) for user in users], users)
    return 0


def run_add_user(ctx) -> int:
    org, team = ctx.require_org(), ctx.require_team()
    email, roles = validate_email(ctx.args.email), ctx.args.roles or [DEFAULT_USER_ROLE]
    user = ctx.api.add_team_user(org, team, email, ctx.args.name, roles).get("user") or {}
    ctx.out.message(f"Added user to team '{team}'.")
    ctx.out.message(f"User '{email}' added to team '{team}' as '{', '.join(roles)}'.")
    ctx.out.block("User Information", user_pairs(user, org), user)
    return 0


def run_remove_user(ctx) -> int:
    org, team, email = ctx.require_org(), ctx.require_team(), validate_email(ctx.args.email)
    ctx.api.remove_team_user(org, team, email)
    ctx.out.message(f"User '{email}' removed from team '{team}'.")
    return 0
