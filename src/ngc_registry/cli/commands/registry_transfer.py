"""`ngc registry model|model-script download-version | upload-version` (guide §6.1.1.3, §6.1.5, §6.2.2, §6.2.5)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ...client.registry_kinds import Kind
from ...errors import ConfigError, NotFoundError
from ...refs import Target
from ..config import ngc_dir
from .registry_args import VERSION, add_flags, add_target, metadata_body, parse_artifact_target

DEFAULT_WORKERS = 8  # the transfer engine (and httpx) load only when a transfer runs


def add_download_arguments(parser, kind: Kind) -> None:
    add_target(parser, f"{kind.title} to download (latest version when none is given)")
    parser.add_argument("-d", "--dest", default=".", metavar="<path>",
                        help="Existing directory to download into (default: the current directory).")
    parser.add_argument("--file", dest="include", action="append", metavar="<pattern>",
                        help="Download only files matching this fnmatch pattern (repeatable).")
    parser.add_argument("--exclude", action="append", metavar="<pattern>",
                        help="Skip files matching this fnmatch pattern (repeatable).")
    parser.add_argument("--dry-run", action="store_true", help="List what would be downloaded; download nothing.")


def add_upload_arguments(parser, kind: Kind) -> None:
    add_target(parser, f"{kind.title} version to upload")
    parser.add_argument("--source", default=".", metavar="<path>",
                        help="Directory (or single file) to upload (default: the current directory).")
    parser.add_argument("--dry-run", action="store_true", help="List what would be uploaded; upload nothing.")
    parser.add_argument("--base-version", metavar="<version>",
                        help="Start the new version with every file of this version (no bytes are sent for them); "
                             "files in --source are added or replace theirs.")
    add_flags(parser, kind.path, (VERSION,))


def workers(ctx) -> int:
    try:
        return max(1, int(ctx.environ.get("NGC_CLI_MAX_CONCURRENCY", DEFAULT_WORKERS)))
    except ValueError:
        return DEFAULT_WORKERS


def artifact_api(ctx, kind: Kind):
    from ...client.registry_api import ArtifactApi

    return ArtifactApi(ctx.api.session, kind)


def run_download(ctx, kind: Kind) -> int:
    from ...client.transfer import Download
    from ...client.transfer_http import StorageClient
    from .registry_progress import dry_run_report, progress_for, report, sigterm_stops_transfer

    target = parse_artifact_target(ctx.args.target)
    dest = Path(ctx.args.dest)
    if not dest.is_dir():
        raise ConfigError(f"The path: '{dest}' does not exist.")
    api = artifact_api(ctx, kind)
    target = with_latest_version(ctx, api, target)
    storage = StorageClient(ctx.config.api_url, workers(ctx))
    try:
        download = Download(api, storage, target, dest, include=ctx.args.include, exclude=ctx.args.exclude,
                            workers=workers(ctx), progress=progress_for(ctx, "Downloading"))
        files = download.plan()
        if ctx.args.dry_run:
            return dry_run_report(ctx, [(f.path, f.size) for f in files], "downloaded")
        with sigterm_stops_transfer():
            result = download.run(files)
    finally:
        storage.close()
    return report(ctx, result)


def with_latest_version(ctx, api, target: Target) -> Target:
    if target.version:
        return target
    artifact = api.get_artifact(target).get(api.kind.artifact_key) or {}
    latest = artifact.get("latestVersionIdStr")
    if not latest:
        raise NotFoundError(f"Target '{target}' has no version to download.")
    ctx.out.message(f"No version specified, downloading latest version: '{latest}'.")
    return Target(target.org, target.team, target.name, latest)


def run_upload(ctx, kind: Kind) -> int:
    from ...client.transfer_http import StorageClient
    from ...client.transfer_upload import Upload, scan_source
    from .registry_progress import dry_run_report, progress_for, report, sigterm_stops_transfer

    target = parse_artifact_target(ctx.args.target, version_required=True)
    body = metadata_body(ctx.args, kind.path, VERSION, kind.framework_key)
    source = Path(ctx.args.source)
    files = scan_source(source)
    if ctx.args.dry_run:
        return dry_run_report(ctx, [(f.path, f.size) for f in files], "uploaded")
    api = artifact_api(ctx, kind)
    if ctx.args.base_version:
        api.get_version(dataclasses.replace(target, version=ctx.args.base_version))  # a missing one: 404 now
    storage = StorageClient(ctx.config.api_url, workers(ctx))
    try:
        upload = Upload(api, storage, target, source, ngc_dir(ctx.environ) / "transfer-caches",
                        workers=workers(ctx), progress=progress_for(ctx, "Uploading"),
                        base_version=ctx.args.base_version)
        if upload.open_version(body):
            ctx.out.message(f"Resuming the upload of '{target}'.")
        with sigterm_stops_transfer():
            result = upload.run(files)
    finally:
        storage.close()
    return report(ctx, result)
