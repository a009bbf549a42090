"""`ngc registry image list | info | remove`: the NGC image API and CONTAINER search, and OCI deletes."""

from __future__ import annotations

import fnmatch

from ...client.image_api import ImageApi
from ...client.oci import OciClient
from ...client.oci_reference import ImageRef, parse_image_ref, split_list_pattern
from ...errors import EXIT_ERROR, InvalidArgumentError, NotFoundError, RegistryError
from ...refs import normalize_team_name
from .image_transfer import oci_client
from .image_views import (LIST_COLUMNS, TAG_COLUMNS, from_search, image_pairs, list_row, render_info,
                          repository_pairs, tag_row)

GLOB_CHARACTERS = set("*?[")
NO_FALLBACK_STATUSES = (401, 403)


# -- list -------------------------------------------------------------------------------------------------------


def run_list(ctx) -> int:
    text = ctx.args.target
    path, tag_pattern = split_list_pattern(text) if text else (None, None)
    if tag_pattern is not None:
        return list_tags(ctx, path, tag_pattern)
    org, team = search_space(ctx, text)
    seen, items = set(), []
    for resource in ImageApi(ctx.api.session).search(text or "*", org, team):
        item = from_search(resource)
        key = item.get("resourceId") or (item.get("orgName"), item.get("teamName"), item.get("name"))
        if key not in seen:
            seen.add(key)
            items.append(item)
    ctx.out.table(LIST_COLUMNS, [list_row(item) for item in items], items)
    return 0


def search_space(ctx, text: str | None) -> tuple[str | None, str | None]:
    """Org and team of the org search URL, each the target's when it names one without wildcards, else configured."""
    parts = (text or "").split("/")
    org = parts[0] if len(parts) >= 2 and not GLOB_CHARACTERS & set(parts[0]) else ctx.config.org
    team = parts[1] if len(parts) == 3 and not GLOB_CHARACTERS & set(parts[1]) else ctx.config.team
    return org, normalize_team_name(team) if team else None


def list_tags(ctx, path: str, pattern: str) -> int:
    ref = parse_image_ref(path, default_tag=None, reference_allowed=False)
    try:
        images = ImageApi(ctx.api.session).list_images(ref)
    except RegistryError as err:
        if err.status in NO_FALLBACK_STATUSES:
            raise
        images = [{"tag": tag} for tag in oci_tags(ctx, ref)]
    images = [image for image in images if fnmatch.fnmatchcase(str(image.get("tag")), pattern)]
    ctx.out.table(TAG_COLUMNS, [tag_row(image) for image in images], images)
    return 0


def oci_tags(ctx, ref: ImageRef) -> list[str]:
    with oci_client(ctx) as client:
        return sorted(client.list_tags(ref.repository))


# -- info -------------------------------------------------------------------------------------------------------


def run_info(ctx) -> int:
    ref = parse_image_ref(ctx.args.image, default_tag=None)
    if ref.digest:
        raise InvalidArgumentError("info takes <image> or <image>:<tag>, not a digest.")
    api = ImageApi(ctx.api.session)
    if not ref.tag:
        repository = api.get_repository(ref)
        return show(ctx, "Image Repository Information", repository_pairs(ref, repository), repository)
    image, tag = api.get_image(ref), api.get_tag(ref)
    return show(ctx, "Image Information", image_pairs(ref, image, tag), {**image, **tag})


def show(ctx, title: str, pairs: list, data: dict) -> int:
    if ctx.out.format_type == "ascii":
        ctx.out.write(render_info(title, pairs))
    else:
        ctx.out.block(title, pairs, data)
    return 0


# -- remove -----------------------------------------------------------------------------------------------------


def run_remove(ctx) -> int:
    ref = parse_image_ref(ctx.args.image, default_tag=None)
    one = bool(ref.tag or ref.digest)
    what = f"image '{ref}'" if one else f"image repository '{ref.repository}' with all its tags"
    if not ctx.args.yes and not confirm(ctx, f"Are you sure you would like to remove the {what}? [y/n] "):
        print(f"Error: The {what} was not removed.", file=ctx.stderr)
        return EXIT_ERROR
    if one:
        with oci_client(ctx) as client:
            removed = remove_one(client, ref)
    else:
        removed = remove_repository(ctx, ref)
    ctx.out.message(f"Successfully removed {what}.")
    if one and len(removed) > 1:
        print(f"Note: the registry deletes images by digest only, so {', '.join(removed[1:])} (the same image) "
              "went too.", file=ctx.stderr)
    if ctx.out.is_json:
        ctx.out.json({"removed": removed})
    return 0


def remove_one(client: OciClient, ref: ImageRef) -> list[str]:
    """DELETE the manifest by tag; by its digest when the registry deletes only by digest. What was removed."""
    try:
        client.delete_manifest(ref.repository, ref.reference)
        return [str(ref)]
    except RegistryError as err:
        if ref.digest or err.status not in (400, 405, 501):
            raise
    digest = client.head_manifest(ref.repository, ref.tag)
    if digest is None:
        raise NotFoundError(f"Image '{ref}' not found.")
    same_image = [tag for tag in client.list_tags(ref.repository)
                  if tag != ref.tag and client.head_manifest(ref.repository, tag) == digest]
    client.delete_manifest(ref.repository, digest)
    return [str(ref)] + [str(ref.with_tag(tag)) for tag in same_image]


def remove_repository(ctx, ref: ImageRef) -> list[str]:
    """The NGC API's delete of the whole repository; where a registry lacks it, each tag over OCI."""
    try:
        ImageApi(ctx.api.session).delete_repository(ref)
        return [ref.repository]
    except RegistryError as err:
        if err.status not in (404, 405, 501):
            raise
    with oci_client(ctx) as client:
        return remove_all(client, ref)


def remove_all(client: OciClient, ref: ImageRef) -> list[str]:
    """Every tag of the repository: each distinct manifest is deleted once, by digest."""
    tags = list(client.list_tags(ref.repository))
    digests = {tag: client.head_manifest(ref.repository, tag) for tag in tags}
    for digest in dict.fromkeys(digest for digest in digests.values() if digest):
        client.delete_manifest(ref.repository, digest)
    return [str(ref.with_tag(tag)) for tag in tags]


def confirm(ctx, prompt: str) -> bool:
    """y/yes from standard input; anything else, or no input at all, is a no."""
    print(prompt, end="", flush=True, file=ctx.stderr)
    line = ctx.stdin.readline()
    if not ctx.stdin_is_tty:
        print(file=ctx.stderr)
    return line.strip().lower() in ("y", "yes")
