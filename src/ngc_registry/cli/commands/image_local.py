"""The local docker or podman, when one is installed: `save` an image for push, `load` one after pull.

Neither is needed: push reads OCI layouts and archives and pull writes them without any daemon.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from ...client.oci_reference import ImageRef
from ...errors import ConfigError, TransferFailedError

LOCAL_TOOLS = ("docker", "podman")
SAVE_TIMEOUT_SECONDS = 3600


def local_tool() -> str | None:
    """`docker` or `podman`, whichever is on PATH first; None when neither is."""
    return next((tool for tool in LOCAL_TOOLS if shutil.which(tool)), None)


def registry_host(api_url: str) -> str:
    return urlsplit(api_url).netloc


def local_names(ref: ImageRef, api_url: str) -> list[str]:
    """The names a local image of `ref` may have: tagged for this registry, for nvcr.io, or bare."""
    suffix = f"{ref.repository}:{ref.tag}"
    return [f"{registry_host(api_url)}/{suffix}", f"nvcr.io/{suffix}", suffix]


def _run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise TransferFailedError(f"'{' '.join(argv[:2])}' could not run: {err}.") from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def find_local_image(tool: str, names: list[str]) -> str:
    last_error = ""
    for name in names:
        done = _run([tool, "image", "inspect", name])
        if done.returncode == 0:
            return name
        last_error = _last_line(done.stderr)
    raise ConfigError(f"No --source given and {tool} has no image {' or '.join(names)} ({last_error}); give the "
                      "image with --source <OCI layout | archive.tar> or --local-image <name>.")


def save_local_image(tool: str, name: str, out: Path) -> None:
    """`<tool> save` the image into `out` (an OCI archive with podman, a docker-archive with docker)."""
    argv = [tool, "save", "-o", str(out)] + (["--format", "oci-archive"] if tool == "podman" else []) + [name]
    done = _run(argv, SAVE_TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise TransferFailedError(f"'{tool} save {name}' failed: {_last_line(done.stderr)}")


def load_archive(tool: str, archive: Path) -> str:
    """`<tool> load -i archive`; what it printed last (e.g. `Loaded image: ...`)."""
    done = _run([tool, "load", "-i", str(archive)], SAVE_TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise TransferFailedError(f"'{tool} load' failed: {_last_line(done.stderr)}")
    return _last_line(done.stdout)
