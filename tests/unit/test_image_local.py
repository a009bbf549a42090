"""The local docker/podman hand-off, with a stand-in `docker` script on PATH: save for push, load after pull."""

from __future__ import annotations

import stat

import pytest

from ngc_registry.cli.commands.image_local import (find_local_image, load_archive, local_names, local_tool,
                                                   save_local_image)
from ngc_registry.client.oci_reference import parse_image_ref
from ngc_registry.errors import ConfigError, TransferFailedError

FAKE_DOCKER = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls.log"
case "$1 $2" in
  "image inspect") [ "$3" = "org/img:1.0" ] && exit 0; echo "Error: No such image: $3" >&2; exit 1 ;;
  "save -o") cp "$(dirname "$0")/image.tar" "$3"; exit 0 ;;
  "load -i") echo "Loaded image: registry.test/org/img:1.0"; exit 0 ;;
esac
exit 2
"""


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(FAKE_DOCKER)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (bin_dir / "image.tar").write_bytes(b"archive bytes")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir


def test_local_tool_and_names(fake_docker):
    assert local_tool() == "docker"
    assert local_names(parse_image_ref("org/img:1.0"), "http://127.0.0.1:8000") == [
        "127.0.0.1:8000/org/img:1.0", "nvcr.io/org/img:1.0", "org/img:1.0"]


def test_no_tool_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert local_tool() is None


def test_find_save_and_load(fake_docker, tmp_path):
    name = find_local_image("docker", ["registry.test/org/img:1.0", "org/img:1.0"])
    assert name == "org/img:1.0"
    save_local_image("docker", name, tmp_path / "out.tar")
    assert (tmp_path / "out.tar").read_bytes() == b"archive bytes"
    assert load_archive("docker", tmp_path / "out.tar") == "Loaded image: registry.test/org/img:1.0"
    calls = (fake_docker / "calls.log").read_text().splitlines()
    assert calls[-2:] == [f"save -o {tmp_path / 'out.tar'} org/img:1.0", f"load -i {tmp_path / 'out.tar'}"]


def test_missing_local_image_says_how_to_give_one(fake_docker):
    with pytest.raises(ConfigError, match=r"No such image: other:1.*--source"):
        find_local_image("docker", ["other:1"])


def test_failing_save_is_a_transfer_failure(fake_docker, tmp_path):
    (fake_docker / "docker").write_text("#!/bin/sh\necho 'daemon down' >&2\nexit 1\n")
    with pytest.raises(TransferFailedError, match="daemon down"):
        save_local_image("docker", "org/img:1.0", tmp_path / "out.tar")
