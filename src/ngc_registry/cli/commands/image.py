"""`ngc registry image list | info | pull | push | remove` (guide chapter 5): the commands and their options.

list and info read the NGC image API and the CONTAINER search; pull, push and remove speak the OCI distribution
API to the same server themselves, so none of them needs a docker daemon. The command modules (and httpx) load
only when a command runs, so `ngc --version` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import re

from ..options import CommandGroup

FORMATS = ("oci", "docker-archive")
DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024
_SIZE_RE = re.compile(r"^(\d+)\s*([kmg]?)(i?b)?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def chunk_size(text: str) -> int:
    """`67108864`, `64M`, `64MiB`, `1G` → bytes (binary multiples)."""
    match = _SIZE_RE.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"invalid size '{text}': use bytes or a number with K, M or G (e.g. 64M)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="<image>",
                        help="<org>/[<team>/]<image>[:<tag>] to push to (tag 'latest' when none is given).")
    parser.add_argument("--source", metavar="<path>",
                        help="OCI image layout directory, OCI archive or docker-archive .tar to push. Without it the "
                             "image is saved from the local docker or podman.")
    parser.add_argument("--source-ref", metavar="<name>",
                        help="Which image of a source holding several (its ref name or tag).")
    parser.add_argument("--local-image", metavar="<name>",
                        help="Without --source: the local docker/podman image to push (default: the target's name).")
    parser.add_argument("--platform", metavar="<os/arch[/variant]>",
                        help="Push only this platform of a multi-platform source.")
    parser.add_argument("--chunk-size", type=chunk_size, default=DEFAULT_CHUNK_SIZE, metavar="<size>",
                        help="Blobs larger than this are sent in chunks of this size (default: 64M).")


def add_pull_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="<image>",
                        help="<org>/[<team>/]<image>[:<tag>|@<digest>] to pull (tag 'latest' when none is given).")
    parser.add_argument("-d", "--dest", default=".", metavar="<path>",
                        help="Existing directory to write into (default: the current directory).")
    parser.add_argument("--format", dest="image_format", choices=FORMATS, default="oci",
                        help="oci: an OCI image layout directory <image>_<tag>/ (default); docker-archive: a "
                             "<image>_<tag>.tar that docker/podman load.")
    parser.add_argument("--platform", metavar="<os/arch[/variant]>",
                        help="Pick one platform of a multi-platform image (default: all for oci, linux/amd64 or "
                             "the only one for docker-archive).")
    parser.add_argument("--load", action="store_true", help="Then load the image into the local docker or podman.")


def lazy(module: str, function: str):
    """A command function that imports its module when it runs."""
    def run(ctx) -> int:
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)(ctx)
    return run


def register(group: CommandGroup) -> None:
    listing = group.command("list", lazy("image_repository", "run_list"),
                            "List container images (wildcards '*' and '?'), or the tags of one with <image>:*.")
    listing.add_argument("target", nargs="?", metavar="<pattern>",
                         help="<org>/[<team>/]<image> pattern, or <org>/[<team>/]<image>:* for its tags.")
    info = group.command("info", lazy("image_repository", "run_info"),
                         "Show an image repository and its tags, or one tagged image.")
    info.add_argument("image", metavar="<image>", help="<org>/[<team>/]<image>[:<tag>].")
    add_pull_arguments(group.command("pull", lazy("image_transfer", "run_pull"),
                                     "Pull an image into an OCI layout or a docker-archive."))
    add_push_arguments(group.command("push", lazy("image_transfer", "run_push"),
                                     "Push an image from an OCI layout, an archive, or the local docker/podman."))
    remove = group.command("remove", lazy("image_repository", "run_remove"),
                           "Remove an image repository with all its tags, or one tag.")
    remove.add_argument("image", metavar="<image>", help="<org>/[<team>/]<image>[:<tag>|@<digest>].")
    remove.add_argument("-y", "--yes", dest="yes", action="store_true", help="Do not ask for confirmation.")
