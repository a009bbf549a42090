"""`ngc registry model ...` and, with the other kind, `ngc registry model-script|resource ...` (guide chapter 6).

create | upload-version | list | info | update | download-version | remove; one set of commands for both kinds,
parametrised by the `Kind` of the client API (models, or resources as NGC now calls model-scripts).
"""

from __future__ import annotations

import fnmatch
from functools import partial

from ...client.registry_kinds import MODELS, Kind
from ...errors import EXIT_ERROR, InvalidArgumentError
from ...refs import validate_artifact_name
from ..options import CommandGroup
from .registry_args import (ARTIFACT, VERSION, add_flags, add_target, check_flags_fit, metadata_body,
                            parse_artifact_target)
from .registry_transfer import add_download_arguments, add_upload_arguments, run_download, run_upload
from .registry_views import (LIST_COLUMNS, VERSION_COLUMNS, artifact_pairs, from_search, list_row, render_info,
                             version_pairs, version_row)

GLOB_CHARACTERS = set("*?[")


def register(group: CommandGroup) -> None:
    register_kind(group, MODELS)


def register_kind(group: CommandGroup, kind: Kind) -> None:
    noun = kind.title.lower()
    create = group.command("create", partial(run_create, kind=kind), f"Create a {noun}.")
    add_target(create, f"{kind.title} to create (no version)")
    add_flags(create, kind.path, (ARTIFACT,))
    add_upload_arguments(group.command("upload-version", partial(run_upload, kind=kind),
                                       f"Upload a {noun} version."), kind)
    add_upload_arguments(group.command("upload", partial(run_upload, kind=kind),
                                       "Same as upload-version (the guide's §6.2.2 spells it so)."), kind)
    listing = group.command("list", partial(run_list, kind=kind),
                            f"List {noun}s (wildcards '*' and '?'), or the versions of one with <name>:*.")
    listing.add_argument("target", nargs="?", metavar="<target>",
                         help="<org>/[<team>/]<name> pattern, or <org>/[<team>/]<name>:* for its versions.")
    info = group.command("info", partial(run_info, kind=kind), f"Show a {noun} or one of its versions.")
    add_target(info, f"{kind.title} or {noun} version")
    info.add_argument("--files", action="store_true", help="With a version: list its files.")
    update = group.command("update", partial(run_update, kind=kind), f"Update a {noun} or a {noun} version.")
    add_target(update, f"{kind.title} (or version) to update")
    add_flags(update, kind.path, (ARTIFACT, VERSION))
    public = update.add_mutually_exclusive_group()
    public.add_argument("--public", dest="public", action="store_const", const=True,
                        help="Make it public: guests (no API key) can list, inspect and download it.")
    public.add_argument("--no-public", dest="public", action="store_const", const=False, help="Make it private.")
    add_download_arguments(group.command("download-version", partial(run_download, kind=kind),
                                         f"Download a {noun} version."), kind)
    remove = group.command("remove", partial(run_remove, kind=kind),
                           f"Remove a {noun} with all its versions, or one version.")
    add_target(remove, f"{kind.title} or {noun} version to remove")
    remove.add_argument("-y", "--yes", dest="yes", action="store_true", help="Do not ask for confirmation.")


def api_for(ctx, kind: Kind):
    from ...client.registry_api import ArtifactApi

    return ArtifactApi(ctx.api.session, kind)


# -- create / update / remove ------------------------------------------------------------------------------------


def run_create(ctx, kind: Kind) -> int:
    target = parse_artifact_target(ctx.args.target, version_allowed=False)
    validate_artifact_name(target.name)
    body = metadata_body(ctx.args, kind.path, ARTIFACT, kind.framework_key)
    artifact = api_for(ctx, kind).create_artifact(target, body).get(kind.artifact_key) or {}
    ctx.out.message(f"Successfully created {kind.title.lower()} '{target}'.")
    show_artifact(ctx, kind, artifact)
    return 0


def run_update(ctx, kind: Kind) -> int:
    target = parse_artifact_target(ctx.args.target)
    level = VERSION if target.version else ARTIFACT
    check_flags_fit(ctx.args, kind.path, level)
    body = metadata_body(ctx.args, kind.path, level, kind.framework_key)
    if level == ARTIFACT and ctx.args.link:
        body["logo"] = ctx.args.link  # the guide's §6.2.4 example sets the logo of a model-script with --link
    if ctx.args.public is not None:
        if level == VERSION:
            raise InvalidArgumentError("--public/--no-public apply to the artifact itself (no :<version>).")
        body["isPublic"] = ctx.args.public
    if not body:
        raise InvalidArgumentError("Nothing to update: give at least one option (see -h).")
    api = api_for(ctx, kind)
    if level == VERSION:
        version = api.update_version(target, body).get(kind.version_key) or {}
        ctx.out.message(f"Successfully updated {kind.title.lower()} version '{target}'.")
        return show_version(ctx, kind, version)
    artifact = api.update_artifact(target, body).get(kind.artifact_key) or {}
    ctx.out.message(f"Successfully updated {kind.title.lower()} '{target}'.")
    show_artifact(ctx, kind, artifact)
    return 0


def run_remove(ctx, kind: Kind) -> int:
    target = parse_artifact_target(ctx.args.target)
    what = f"{kind.title.lower()} version" if target.version else kind.title.lower()
    if not ctx.args.yes and not confirm(ctx, f"Are you sure you would like to remove the {what} '{target}'? [y/n] "):
        print(f"Error: The {what} '{target}' was not removed.", file=ctx.stderr)
        return EXIT_ERROR
    api = api_for(ctx, kind)
    api.delete_version(target) if target.version else api.delete_artifact(target)
    ctx.out.message(f"Successfully removed {what} '{target}'.")
    if ctx.out.is_json:
        ctx.out.json({"removed": str(target)})
    return 0


def confirm(ctx, prompt: str) -> bool:
    """y/yes from standard input; anything else, or no input at all, is a no."""
    print(prompt, end="", flush=True, file=ctx.stderr)
    line = ctx.stdin.readline()
    if not ctx.stdin_is_tty:
        print(file=ctx.stderr)
    return line.strip().lower() in ("y", "yes")


# -- list / info ----------------------------------------------------------------------------------------------


def run_list(ctx, kind: Kind) -> int:
    text = ctx.args.target
    if text and ":" in text:
        return list_versions(ctx, kind, text)
    api = api_for(ctx, kind)
    org, team = search_space(ctx, text)
    seen, items = set(), []
    for resource in api.search(text or "*", org, team):
        item = from_search(resource, kind)
        key = item.get("resourceId") or (item.get("orgName"), item.get("teamName"), item.get("name"))
        if key not in seen:
            seen.add(key)
            items.append(item)
    ctx.out.table(LIST_COLUMNS, [list_row(item, kind) for item in items], items)
    return 0


def search_space(ctx, text: str | None) -> tuple[str | None, str | None]:
    """The org/team of the org search URL: the target's when it names them without wildcards, else configured."""
    parts = (text or "").split("/")
    if len(parts) >= 2 and not GLOB_CHARACTERS & set(parts[0]):
        team = parts[1] if len(parts) == 3 and not GLOB_CHARACTERS & set(parts[1]) else None
        return parts[0], team
    return ctx.config.org, ctx.config.team


def list_versions(ctx, kind: Kind, text: str) -> int:
    path, _, pattern = text.partition(":")
    target = parse_artifact_target(path, version_allowed=False)
    versions = [v for v in api_for(ctx, kind).list_versions(target)
                if fnmatch.fnmatch(str(v.get("versionId")), pattern or "*")]
    ctx.out.table(VERSION_COLUMNS, [version_row(v) for v in versions], versions)
    return 0


def run_info(ctx, kind: Kind) -> int:
    target = parse_artifact_target(ctx.args.target)
    api = api_for(ctx, kind)
    if not target.version:
        if ctx.args.files:
            raise InvalidArgumentError("--files needs a version: <org>/[<team>/]<name>:<version>.")
        show_artifact(ctx, kind, api.get_artifact(target).get(kind.artifact_key) or {})
        return 0
    version = api.get_version(target).get(kind.version_key) or {}
    files = api.list_files(target) if ctx.args.files else None
    return show_version(ctx, kind, version, files)


def show_artifact(ctx, kind: Kind, artifact: dict) -> None:
    title = f"{kind.title} Information"
    if ctx.out.format_type == "ascii":
        ctx.out.write(render_info(title, artifact_pairs(artifact, kind)))
    else:
        ctx.out.block(title, artifact_pairs(artifact, kind), artifact)


def show_version(ctx, kind: Kind, version: dict, files: list[dict] | None = None) -> int:
    title = f"{kind.title} Version Information"
    pairs = version_pairs(version, files)
    data = {"file_list": files, "version": version} if files is not None else version
    if ctx.out.format_type == "ascii":
        ctx.out.write(render_info(title, pairs))
    else:
        ctx.out.block(title, pairs, data)
    return 0
