"""`ngc registry image push | pull` (guide §5.2, §5.3) over the OCI distribution API: no docker daemon needed."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ...client.image_layout import open_source
from ...client.oci import OciClient
from ...client.oci_layout_writer import LayoutWriter, write_docker_archive
from ...client.oci_media import Descriptor, Manifest, parse_platform, select_platform
from ...client.oci_pull import DEFAULT_PLATFORM, ImagePull, PullPlan
from ...client.oci_push import ImagePush
from ...client.oci_reference import ImageRef, layout_dir_name, parse_image_ref
from ...client.oci_transfer import EXISTS, FAILED, MOUNTED, TRANSFERRED, ImageTransferResult, TransferStopped
from ...client.transfer_common import TransferTerminated
from ...errors import ConfigError, InvalidArgumentError
from .image_local import find_local_image, load_archive, local_names, local_tool, registry_host, save_local_image
from .image_views import blob_lines, summary_json, summary_lines
from .registry_progress import progress_for, sigterm_stops_transfer

DEFAULT_WORKERS = 8


def workers(ctx) -> int:
    try:
        return max(1, int(ctx.environ.get("NGC_CLI_MAX_CONCURRENCY", DEFAULT_WORKERS)))
    except ValueError:
        return DEFAULT_WORKERS


def oci_client(ctx) -> OciClient:
    return OciClient(ctx.config.api_url, ctx.config.apikey, workers=workers(ctx),
                     debug_log=ctx.log_debug if ctx.debug else None)


def run_stoppable(result: ImageTransferResult, stop: threading.Event, action: Callable[[], object]) -> None:
    """Run the transfer; Ctrl-C and SIGTERM stop it cleanly and are recorded in the result."""
    try:
        with sigterm_stops_transfer():
            action()
    except (KeyboardInterrupt, TransferTerminated, TransferStopped) as stopped:
        stop.set()
        result.stopped_by = "interrupt" if isinstance(stopped, KeyboardInterrupt) else "SIGTERM"
        result.finish()


def report(ctx, result: ImageTransferResult, outcomes: tuple[str, ...]) -> int:
    if ctx.out.is_json:
        ctx.out.json(summary_json(result))
    else:
        ctx.out.write("\n".join(blob_lines(result, outcomes) + summary_lines(result)))
    for digest, reason in result.failures.items():
        print(f"Error: {digest}: {reason}", file=ctx.stderr)
    if result.failures or result.stopped_by:
        print(f"{result.direction} {result.status.lower()}: run the same command again to resume.", file=ctx.stderr)
    return result.exit_code


# -- push -------------------------------------------------------------------------------------------------------


def run_push(ctx) -> int:
    ref = parse_image_ref(ctx.args.image)
    if ref.digest:
        raise InvalidArgumentError("Push to a tag (<image>:<tag>), not to a digest.")
    platform = parse_platform(ctx.args.platform) if ctx.args.platform else None
    with source_path(ctx, ref) as path, oci_client(ctx) as client:
        stop = threading.Event()
        push = ImagePush(client, open_source(path), ref, workers=workers(ctx), chunk_size=ctx.args.chunk_size,
                         progress=progress_for(ctx, "Pushing"), stop=stop)
        plan = push.plan(ctx.args.source_ref, platform)
        result = ImageTransferResult("Push", str(ref))
        missing = push.check_existing(plan, result)
        if not ctx.out.is_json and result.outcomes:
            ctx.out.write("\n".join(blob_lines(result, (EXISTS,))))
        run_stoppable(result, stop, lambda: push.run(plan, missing, result))
    return report(ctx, result, (TRANSFERRED, MOUNTED, FAILED))


@contextlib.contextmanager
def source_path(ctx, ref: ImageRef):
    """--source as given, or the local docker/podman image saved into a temporary archive."""
    if ctx.args.source:
        yield Path(ctx.args.source)
        return
    tool = local_tool()
    if tool is None:
        raise ConfigError("No --source given and neither docker nor podman is installed: give an OCI image layout "
                          "or an image archive with --source <path>.")
    name = ctx.args.local_image or find_local_image(tool, local_names(ref, ctx.config.api_url))
    with tempfile.TemporaryDirectory(prefix="ngc-image-") as temporary:
        archive = Path(temporary) / "image.tar"
        ctx.out.message(f"Saving '{name}' from {tool}...")
        save_local_image(tool, name, archive)
        yield archive


# -- pull -------------------------------------------------------------------------------------------------------


def run_pull(ctx) -> int:
    ref = parse_image_ref(ctx.args.image)
    dest = Path(ctx.args.dest)
    if not dest.is_dir():
        raise ConfigError(f"The path: '{dest}' does not exist.")
    as_archive = ctx.args.image_format == "docker-archive"
    name = layout_dir_name(ref)
    layout = LayoutWriter(dest / (f".{name}.partial-layout" if as_archive else name))
    plan, result = pull_layout(ctx, ref, layout, keep_index=not as_archive)
    archive = dest / f"{name}.tar" if as_archive else None
    if archive is not None and result.status == "Completed":
        write_archive(ctx, ref, layout, plan, archive)
        shutil.rmtree(layout.root, ignore_errors=True)
        result.local_path = archive
    exit_code = report(ctx, result, (EXISTS, TRANSFERRED, FAILED))
    if exit_code == 0 and ctx.args.load:
        load_pulled(ctx, ref, layout, plan, archive)
    return exit_code


def pull_layout(ctx, ref: ImageRef, layout: LayoutWriter, keep_index: bool) -> tuple[PullPlan, ImageTransferResult]:
    """Fetch the image into the layout (resuming what an earlier run left); the plan and what happened."""
    platform = parse_platform(ctx.args.platform) if ctx.args.platform else None
    with oci_client(ctx) as client:
        stop = threading.Event()
        pull = ImagePull(client, ref, layout, workers=workers(ctx), progress=progress_for(ctx, "Pulling"), stop=stop)
        plan = pull.plan(platform, keep_index)
        result = ImageTransferResult("Pull", str(ref), layout.root, plan.top.digest)
        run_stoppable(result, stop, lambda: pull.run(plan, result))
    return plan, result


def image_manifest(plan: PullPlan, platform_text: str | None) -> tuple[Descriptor, Manifest]:
    """The single-platform manifest of the plan (an index is narrowed to the default platform)."""
    if not plan.top_manifest.is_index:
        return plan.top, plan.top_manifest
    platform = parse_platform(platform_text) if platform_text else None
    child = select_platform(plan.top_manifest, platform, DEFAULT_PLATFORM)
    return child, plan.manifests[child.digest]


def write_archive(ctx, ref: ImageRef, layout: LayoutWriter, plan: PullPlan, archive: Path) -> None:
    _, manifest = image_manifest(plan, ctx.args.platform)
    tags = [f"{registry_host(ctx.config.api_url)}/{ref.repository}:{ref.tag}"] if ref.tag and not ref.digest else []
    write_docker_archive(layout, manifest, tags, archive)


def load_pulled(ctx, ref: ImageRef, layout: LayoutWriter, plan: PullPlan, archive: Path | None) -> None:
    tool = local_tool()
    if tool is None:
        raise ConfigError("--load needs docker or podman, and neither is installed; the image was written to "
                          f"'{archive or layout.root}'.")
    if archive is not None:
        ctx.out.message(load_archive(tool, archive))
        return
    with tempfile.TemporaryDirectory(prefix="ngc-image-", dir=layout.root.parent) as temporary:
        temporary_archive = Path(temporary) / "image.tar"
        write_archive(ctx, ref, layout, plan, temporary_archive)
        ctx.out.message(load_archive(tool, temporary_archive))
