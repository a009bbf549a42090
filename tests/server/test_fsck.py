"""fsck: a clean registry passes; missing, truncated and corrupted bytes are each reported with what uses them."""

from __future__ import annotations

import pytest

from ngc_registry.server.__main__ import main

from .oci_support import sha256
from .ops_support import FILES, check, image, model, store

pytestmark = pytest.mark.filesystem_store  # looks at the files of the store itself

LAYERS = [b"fsck layer " * 300]


def _fill(registry) -> None:
    model(registry, "m", "1", FILES)
    image(registry, "img", "v1", LAYERS)


def _cli(registry, capsys, *args: str) -> tuple[int, list[str]]:
    settings = registry.client.app.state.settings
    database = ["--database-url", settings.database_url] if settings.database_url else []
    code = main(["fsck", "--data-dir", str(settings.data_dir), *database, *args])
    return code, capsys.readouterr().out.splitlines()


def test_a_clean_registry_has_no_problems(registry, capsys):
    _fill(registry)
    report = check(registry)
    assert report.problems == [] and report.blobs == report.rehashed == 6  # 3 files, config, layer, manifest
    assert _cli(registry, capsys) == (0, ["fsck: 6 blobs checked, 0 problems"])
    code, lines = _cli(registry, capsys, "--sample", "2")
    assert code == 0 and lines == ["fsck: re-hashed a random sample of 2 blobs", "fsck: 6 blobs checked, 0 problems"]


def test_missing_truncated_and_corrupt_blobs_are_each_one_line(registry, capsys):
    _fill(registry)
    files = store(registry)
    weights, layer = sha256(FILES["sub/b.bin"]), sha256(LAYERS[0])
    files.blob_path(sha256(FILES["a.txt"])).unlink()
    files.blob_path(layer).write_bytes(LAYERS[0][:-1])
    files.blob_path(weights).write_bytes(bytes(reversed(FILES["sub/b.bin"])))

    code, lines = _cli(registry, capsys)
    assert code == 1 and lines[-1] == "fsck: 6 blobs checked, 4 problems"
    text = "\n".join(lines)
    assert f"missing bytes: {sha256(FILES['a.txt'])} (referenced by model acme/m:1 file 'a.txt')" in text
    assert f"size mismatch: {layer} has {len(LAYERS[0]) - 1} bytes in the store, {len(LAYERS[0])} in its row" in text
    assert f"digest mismatch: {weights} hashes to sha256:" in text


def test_a_sample_re_hashes_only_that_many(registry):
    _fill(registry)
    files = store(registry)
    files.blob_path(sha256(LAYERS[0])).write_bytes(b"x" * len(LAYERS[0]))  # same size: only a re-hash sees it
    assert check(registry, sample=0).problems == []
    assert len(check(registry, sample=6).problems) == 1
