"""`ngc org list | info | list-users | add-user | add-team` (guide chapter 7)."""

from __future__ import annotations

from ...refs import validate_email
from ..options import CommandGroup
from ..views import USER_COLUMNS, org_pairs, org_row, roles_in_org, team_pairs, user_pairs, user_row

DEFAULT_USER_ROLE = "REGISTRY_WRITE_USER_ROLE"


def register(group: CommandGroup) -> None:
    group.command("list", run_list, "List the orgs you belong to.")
    info = group.command("info", run_info, "Show an org (default: the configured org).")
    info.add_argument("org_name", nargs="?", metavar="<org>", help="Org name.")
    group.command("list-users", run_list_users, "List the users of the org.")
    add_user = group.command(
        "add-user", run_add_user, "Add (invite) a user to the org, or to a team of it with --team.",
        "Add a user to the org with org roles. With --team (or a configured team) the user is added to that team\n"
        "with team roles instead, and created in the org if new; --team no-team ignores a configured team.")
    add_user_arguments(add_user)
    remove_user = group.command("remove-user", run_remove_user, "Remove a user from the org and all its teams.")
    remove_user.add_argument("email", metavar="<email>", help="Email address of the user.")
    add_team = group.command("add-team", run_add_team, "Create a team in the org.")
    add_team.add_argument("name", metavar="<name>", help="Team name.")
    add_team.add_argument("description", metavar="<description>", help="Team description.")


def add_user_arguments(parser) -> None:
    parser.add_argument("email", metavar="<email>", help="Email address of the user.")
    parser.add_argument("name", metavar="<name>", help="Full name of the user.")
    parser.add_argument("--role", dest="roles", action="append", metavar="<role>",
                        help=f"Role to give (repeatable; default {DEFAULT_USER_ROLE}).")


def run_list(ctx) -> int:
    orgs = ctx.api.list_orgs().get("organizations") or []
    ctx.out.table(["Name", "Display Name", "Description", "Type"], [org_row(org) for org in orgs], orgs)
    return 0


def run_info(ctx) -> int:
    org = ctx.api.get_org(ctx.require_org(ctx.args.org_name)).get("organizations") or {}
    ctx.out.block("Org Information", org_pairs(org), org)
    return 0


def run_list_users(ctx) -> int:
    org = ctx.require_org()
    users = list(ctx.api.iter_users(org))
    ctx.out.table(USER_COLUMNS, [user_row(user, roles_in_org(user, org)) for user in users], users)
    return 0


def run_add_user(ctx) -> int:
    org, team = ctx.require_org(), ctx.config.team
    email, roles = validate_email(ctx.args.email), ctx.args.roles or [DEFAULT_USER_ROLE]
    if team:
        user = ctx.api.add_team_user(org, team, email, ctx.args.name, roles).get("user") or {}
        ctx.out.message(f"User '{email}' added to team '{team}' as '{', '.join(roles)}'.")
    else:
        user = ctx.api.add_org_user(org, email, ctx.args.name, roles).get("user") or {}
        ctx.out.message(f"User '{email}' added to org '{org}' as '{', '.join(roles)}'.")
    ctx.out.block("User Information", user_pairs(user, org), user)
    return 0


def run_remove_user(ctx) -> int:
    org, email = ctx.require_org(), validate_email(ctx.args.email)
    ctx.api.remove_org_user(org, email)
    ctx.out.message(f"User '{email}' removed from org '{org}'.")
    return 0


def run_add_team(ctx) -> int:
    team = ctx.api.create_team(ctx.require_org(), ctx.args.name, ctx.args.description).get("team") or {}
    ctx.out.message("Team created.")
    ctx.out.message("")
    ctx.out.block("Team Information", team_pairs(team), team)
    return 0
