"""Row 1: skopeo push and pull of a 1 GiB, 4-layer image, this registry against Debian's docker-registry."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from . import common
from .common import GIB, OUT, Row, Stat, log, settle, timed
from .dataset import random_file, remove, sha256_file
from .servers import OurServer

LAYER_MEDIA = "application/vnd.oci.image.layer.v1.tar"
LAYERS = 4


def _add_blob(layout: Path, source: Path) -> dict:
    digest = sha256_file(source)
    size = source.stat().st_size
    source.rename(layout / "blobs" / "sha256" / digest)
    return {"digest": f"sha256:{digest}", "size": size}


def _tar_layer(path: Path, size: int, seed: str) -> Path:
    """An uncompressed tar with one member of random bytes (so no client re-compresses anything)."""
    data = random_file(path.with_suffix(".data"), size, seed)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        archive.add(data, arcname="data.bin")
    data.unlink()
    return path


def _json_blob(layout: Path, body: dict) -> dict:
    raw = json.dumps(body).encode()
    digest = hashlib.sha256(raw).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(raw)
    return {"digest": f"sha256:{digest}", "size": len(raw)}


def build_layout(layout: Path, seed: str) -> Path:
    """An OCI image layout, tag `bench`: 4 layers of 256 MiB of random data, config and manifest."""
    remove(layout)
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layers = [{"mediaType": LAYER_MEDIA, **_add_blob(layout, _tar_layer(layout / f"l{i}.tar", GIB // LAYERS - 4096,
                                                                        f"{seed}/{i}"))} for i in range(LAYERS)]
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]}}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **_json_blob(layout, config)},
                "layers": layers}
    descriptor = {"mediaType": manifest["mediaType"], **_json_blob(layout, manifest),
                  "annotations": {"org.opencontainers.image.ref.name": "bench"}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    return layout


def _size(layout: Path) -> int:
    return sum(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir())


def push(layout: Path, host: str, repo: str, creds: str | None) -> float:
    auth = ["--dest-creds", creds] if creds else []
    settle()  # a pull after a push would otherwise pay for the push's writeback (the other registry's, too)
    return timed(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false", *auth,
                  f"oci:{layout}:bench", f"docker://{host}/{repo}:bench"], timeout=900)


def pull(host: str, repo: str, creds: str | None, dest: Path) -> float:
    remove(dest)
    auth = ["--src-creds", creds] if creds else []
    settle()
    seconds = timed(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false", *auth,
                     f"docker://{host}/{repo}:bench", f"oci:{dest}:bench"], timeout=900)
    remove(dest)
    return seconds


PULLS_PER_RUN = 2  # skopeo's own CPU per pull varies up to 2x from one pull to the next (bench/analysis.md)


def oci_rows(server: OurServer, registry) -> list[Row]:
    """Push then pull, ours and docker-registry side by side, on a fresh image each run (no layer exists yet); the
    side that goes first alternates, so neither always meets the machine as the other left it. Each run pulls
    twice from each side, interleaved: the pull figures are medians of 2 x runs pulls."""
    creds = f"$oauthtoken:{server.key}"
    figures = {key: [] for key in ("push", "push-base", "pull", "pull-base")}
    for index in range(common.RUNS):
        layout = build_layout(OUT / "oci-layout", f"oci-{index}")
        size = _size(layout)
        ours_host, base_host = f"127.0.0.1:{server.port}", f"127.0.0.1:{registry.port}"
        sides = [("", ours_host, creds), ("-base", base_host, None)][::1 if index % 2 == 0 else -1]  # who goes first
        for suffix, host, auth in sides:
            figures["push" + suffix].append(size / push(layout, host, f"bench/img{index}", auth) / 1e6)
        for suffix, host, auth in sides * PULLS_PER_RUN:
            figures["pull" + suffix].append(size / pull(host, f"bench/img{index}", auth, OUT / "oci-pulled") / 1e6)
        pulls = [" / ".join(f"{v:.0f}" for v in figures[k][-PULLS_PER_RUN:]) for k in ("pull", "pull-base")]
        log("skopeo run {}: push {:.0f} vs {:.0f} MB/s, pulls {} vs {} MB/s".format(
            index, figures["push"][-1], figures["push-base"][-1], *pulls))
    remove(OUT / "oci-layout")
    return [_row(f"skopeo {what}, 1 GiB in 4 layers", figures[what], figures[f"{what}-base"])
            for what in ("push", "pull")]


def _row(what: str, ours: list[float], base: list[float]) -> Row:
    row = Row("1", what, "MB/s", Stat(ours), Stat(base), "docker-registry 2.8.2", "≥ 1.0 × docker-registry")
    row.met = row.ratio >= 1.0
    return row
