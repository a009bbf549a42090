"""Helpers for the operations end-to-end tests: a model and an image put in with the real clients and checked on
the way back out, and the `ngc-registry` maintenance commands."""

from __future__ import annotations

import hashlib
import os
import shutil
import types
from pathlib import Path

import pytest

from .conftest import BIN, run
from .test_models_transfers import MB, Cli, ok, sha256_of, write_random
from .test_oci_skopeo import Layout, Skopeo

__all__ = ["MB", "Cli", "Content", "admin", "need", "ok", "registry_at"]


def need(tool: str, package: str) -> None:
    """Skip without the tool, except in CI, where .ci/run installs it."""
    if shutil.which(tool) or Path(tool).exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is not installed; .ci/run installs it (apt-get install {package}).")
    pytest.skip(f"{tool} is not installed (apt-get install {package}).")


def admin(*args: str, timeout: float = 300):
    """Run `ngc-registry` to completion."""
    return run(str(BIN / "ngc-registry"), *args, timeout=timeout)


def registry_at(url: str, key: str, org: str = "nvidia"):
    """What the client helpers need to know of a registry reached at `url` (a proxy, say)."""
    return types.SimpleNamespace(url=url, admin_key=key, org=org)


def tree_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_of(p) for p in sorted(root.rglob("*")) if p.is_file()}


class Content:
    """A model version (uploaded with `ngc`) and a tagged image (pushed with skopeo), and their checks."""

    def __init__(self, work: Path, model: str = "nvidia/ops_model", image: str = "nvidia/ops-image"):
        self.work, self.model, self.image = work, model, image
        self.files = work / "model-files"
        write_random(self.files / "weights.bin", 3 * MB + 123)
        write_random(self.files / "nested" / "extra.bin", 200_000)
        (self.files / "config.json").write_text('{"layers": 3}')
        self.layout = Layout(work / "layout")
        self.manifest = self.layout.add_image(2)
        self.layout.tag(self.manifest, "v1")

    def put(self, registry) -> None:
        ok(Cli(registry, self.work / "ngc-home")("registry", "model", "create", self.model))
        self.put_version(registry, "1")

    def put_version(self, registry, version: str) -> None:
        """Upload the files as a version of the model, and push the image as tag v1."""
        cli = Cli(registry, self.work / "ngc-home")
        ok(cli("registry", "model", "upload-version", "--source", str(self.files), f"{self.model}:{version}"))
        Skopeo(registry, _home(self.work / "skopeo-push")).push(self.layout, "v1", f"{self.image}:v1")

    def check(self, registry, label: str, version: str = "1") -> None:
        """Download the model and pull the image from `registry`: every digest equals the original's."""
        cli, dest = Cli(registry, self.work / f"ngc-home-{label}"), self.work / f"download-{label}"
        dest.mkdir()
        ok(cli("registry", "model", "download-version", "--dest", str(dest), f"{self.model}:{version}"))
        assert tree_digests(dest / f"{self.model.split('/')[-1]}_v{version}") == tree_digests(self.files)
        pulled = Layout(self.work / f"pulled-{label}")
        Skopeo(registry, _home(self.work / f"skopeo-{label}")).pull(f"{self.image}:v1", pulled.root, "back")
        assert pulled.tagged("back")["digest"] == self.manifest["digest"]
        for blob in (self.layout.root / "blobs" / "sha256").iterdir():
            assert hashlib.sha256((pulled.root / "blobs" / "sha256" / blob.name).read_bytes()).hexdigest() == blob.name


def _home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def init_with(data_dir: Path, *database: str) -> str:
    """`ngc-registry init` with extra options (a database URL); returns the admin's API key."""
    done = admin("init", "--data-dir", str(data_dir), *database, "--org", "nvidia", "--admin-email",
                 "admin@example.com")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().rsplit("API key: ", 1)[1]
