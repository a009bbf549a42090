"""`ngc registry image ...` through the installed `ngc` against a real server process: no docker daemon anywhere.

Round trips compare digests: our push then our pull, our push then `skopeo copy` back, skopeo's push then our
pull. Images are OCI layouts made here (gzip'd tar layers), each pushed to a repository of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.unit.test_oci_fake_registry import layer_tar, make_layout

from .conftest import BIN, run
from .test_cli_identity import block_values, failed, ok

pytestmark = [pytest.mark.e2e, pytest.mark.shared_registry]


def unique_repo(registry, prefix: str = "imgcli") -> str:
    return f"{registry.org}/{prefix}-{uuid.uuid4().hex[:8]}"


def index_digest(layout: Path) -> str:
    return json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]


def blob_hashes(layout: Path) -> set[str]:
    return {path.name for path in (layout / "blobs" / "sha256").iterdir()}


@pytest.fixture
def admin(ngc, registry):
    """`ngc` as the admin, in the registry's org."""
    def _run(*args: str, **kwargs):
        return ngc(*args, key=registry.admin_key, env={"NGC_CLI_ORG": registry.org, **kwargs.pop("env", {})},
                   **kwargs)
    return _run


@pytest.fixture
def two_layers(tmp_path) -> Path:
    layout = tmp_path / "two-layers"
    layout.mkdir()
    make_layout(layout, layers=[layer_tar({"a.txt": b"alpha"}), layer_tar({"b.bin": os.urandom(300_000)})])
    return layout


@pytest.fixture(scope="module")
def skopeo():
    if shutil.which("skopeo"):
        return shutil.which("skopeo")
    if os.environ.get("CI") == "true":
        pytest.fail("skopeo is not installed; .ci/run installs it (apt-get install skopeo).")
    pytest.skip("skopeo is not installed (apt-get install skopeo).")


def skopeo_copy(skopeo, registry, source: str, dest: str, *extra: str) -> None:
    creds = f"$oauthtoken:{registry.admin_key}"
    done = run(skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", f"--src-creds={creds}",
               f"--dest-creds={creds}", *extra, source, dest)
    assert done.returncode == 0, done.stderr


def docker_ref(registry, image: str) -> str:
    return f"docker://{registry.url.split('://', 1)[1]}/{image}"


# -- push and pull ----------------------------------------------------------------------------------------------


def test_push_then_pull_gives_identical_digests(admin, registry, two_layers, tmp_path):
    repo = unique_repo(registry)
    out = ok(admin("registry", "image", "push", f"{repo}:1.0", "--source", str(two_layers)))
    assert out.count(": Pushed") == 3 and f"Digest: {index_digest(two_layers)}" in out
    again = ok(admin("registry", "image", "push", f"{repo}:1.1", "--source", str(two_layers)))
    assert again.count("Layer already exists") == 3 and "Layers uploaded: 0" in again
    dest = tmp_path / "dest"
    dest.mkdir()
    ok(admin("registry", "image", "pull", f"{repo}:1.0", "--dest", str(dest)))
    pulled = dest / f"{repo.split('/')[-1]}_1.0"
    assert index_digest(pulled) == index_digest(two_layers) and blob_hashes(pulled) == blob_hashes(two_layers)


def test_chunked_push_of_a_big_layer(admin, registry, tmp_path):
    layout = tmp_path / "big"
    layout.mkdir()
    make_layout(layout, layers=[layer_tar({"big.bin": os.urandom(3_000_000)})])
    repo = unique_repo(registry)
    out = ok(admin("registry", "image", "push", f"{repo}:chunked", "--source", str(layout), "--chunk-size", "1M",
                   "--format_type", "json"))
    assert json.loads(out)["digest"] == index_digest(layout)


def test_ngc_push_then_skopeo_copy_back(admin, registry, skopeo, two_layers, tmp_path):
    repo = unique_repo(registry)
    ok(admin("registry", "image", "push", f"{repo}:v1", "--source", str(two_layers)))
    skopeo_copy(skopeo, registry, docker_ref(registry, f"{repo}:v1"), f"oci:{tmp_path / 'copy'}:v1")
    assert index_digest(tmp_path / "copy") == index_digest(two_layers)


def test_skopeo_push_then_ngc_pull(admin, registry, skopeo, two_layers, tmp_path):
    repo = unique_repo(registry)
    skopeo_copy(skopeo, registry, f"oci:{two_layers}:1.0", docker_ref(registry, f"{repo}:v1"))
    ok(admin("registry", "image", "pull", f"{repo}:v1", "--dest", str(tmp_path)))
    assert index_digest(tmp_path / f"{repo.split('/')[-1]}_v1") == index_digest(two_layers)


def test_multi_platform_index_round_trip(admin, registry, skopeo, tmp_path):
    layout = tmp_path / "multi"
    layout.mkdir()
    digest = make_layout(layout, platforms=("amd64", "arm64"))
    repo = unique_repo(registry)
    ok(admin("registry", "image", "push", f"{repo}:multi", "--source", str(layout)))
    skopeo_copy(skopeo, registry, docker_ref(registry, f"{repo}:multi"), f"oci:{tmp_path / 'copy'}:multi", "--all")
    assert index_digest(tmp_path / "copy") == digest
    whole, arm = tmp_path / "whole", tmp_path / "arm"
    for dest in (whole, arm):
        dest.mkdir()
    ok(admin("registry", "image", "pull", f"{repo}:multi", "--dest", str(whole)))
    ok(admin("registry", "image", "pull", f"{repo}:multi", "--dest", str(arm), "--platform", "linux/arm64"))
    name = repo.split("/")[-1]
    assert index_digest(whole / f"{name}_multi") == digest
    arm_entry = json.loads((arm / f"{name}_multi" / "index.json").read_text())["manifests"][0]
    assert arm_entry["platform"]["architecture"] == "arm64"


def test_pull_by_digest(admin, registry, two_layers, tmp_path):
    repo = unique_repo(registry)
    ok(admin("registry", "image", "push", f"{repo}:v1", "--source", str(two_layers)))
    digest = index_digest(two_layers)
    ok(admin("registry", "image", "pull", f"{repo}@{digest}", "--dest", str(tmp_path)))
    assert index_digest(tmp_path / f"{repo.split('/')[-1]}_sha256-{digest[7:19]}") == digest


def test_pull_as_docker_archive_and_push_it_back(admin, registry, two_layers, tmp_path):
    repo = unique_repo(registry)
    ok(admin("registry", "image", "push", f"{repo}:v1", "--source", str(two_layers)))
    ok(admin("registry", "image", "pull", f"{repo}:v1", "--dest", str(tmp_path), "--format", "docker-archive"))
    archive = tmp_path / f"{repo.split('/')[-1]}_v1.tar"
    assert archive.is_file()
    ok(admin("registry", "image", "push", f"{repo}:from-archive", "--source", str(archive)))
    info = block_values(ok(admin("registry", "image", "info", f"{repo}:from-archive")))
    assert info["Architecture"] == "amd64"


# -- resume -----------------------------------------------------------------------------------------------------


def test_pull_resumes_a_partial_blob(admin, registry, tmp_path):
    layout = tmp_path / "resume"
    layout.mkdir()
    make_layout(layout, layers=[layer_tar({"big.bin": os.urandom(2_000_000)})])
    repo = unique_repo(registry)
    ok(admin("registry", "image", "push", f"{repo}:v1", "--source", str(layout)))
    dest = tmp_path / "dest"
    dest.mkdir()
    ok(admin("registry", "image", "pull", f"{repo}:v1", "--dest", str(dest)))
    pulled = dest / f"{repo.split('/')[-1]}_v1"
    biggest = max((pulled / "blobs" / "sha256").iterdir(), key=lambda path: path.stat().st_size)
    data = biggest.read_bytes()
    biggest.unlink()
    biggest.with_name(biggest.name + ".partial").write_bytes(data[:len(data) // 2])
    (pulled / "index.json").unlink()
    out = ok(admin("registry", "image", "pull", f"{repo}:v1", "--dest", str(dest), "--format_type", "json"))
    summary = json.loads(out)
    assert summary["layersTransferred"] == 1 and summary["layersSkipped"] == 1  # the config
    assert summary["bytesTransferred"] == len(data) - len(data) // 2
    assert biggest.read_bytes() == data and index_digest(pulled) == index_digest(layout)


def test_interrupted_pull_exits_4_and_the_rerun_completes(registry, ngc, tmp_path):
    layout = tmp_path / "huge"
    layout.mkdir()
    make_layout(layout, layers=[os.urandom(150_000_000)])
    repo = unique_repo(registry)
    env = {"NGC_CLI_ORG": registry.org}
    ok(ngc("registry", "image", "push", f"{repo}:v1", "--source", str(layout), key=registry.admin_key, env=env))
    dest = tmp_path / "dest"
    dest.mkdir()
    process = subprocess.Popen([str(BIN / "ngc"), "registry", "image", "pull", f"{repo}:v1", "--dest", str(dest)],
                               env={**os.environ, "NGC_CLI_HOME": str(ngc.home), "NGC_CLI_API_URL": registry.url,
                                    "NGC_CLI_API_KEY": registry.admin_key, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = list_partials(dest, process)
    if partial:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    if partial:
        assert process.returncode == 4 and "run the same command again to resume" in err
    ok(ngc("registry", "image", "pull", f"{repo}:v1", "--dest", str(dest), key=registry.admin_key, env=env))
    assert index_digest(dest / f"{repo.split('/')[-1]}_v1") == index_digest(layout)
    assert not list(dest.rglob("*.partial"))


def list_partials(dest: Path, process: subprocess.Popen) -> list[Path]:
    """The `.partial` files once one holds some bytes (empty when the pull ended first)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        partials = [path for path in dest.rglob("*.partial") if path.stat().st_size > 1_000_000]
        if partials:
            return partials
        time.sleep(0.01)
    return []


# -- list, info, remove -----------------------------------------------------------------------------------------


def test_list_info_and_tags_as_the_guide_shows(admin, registry, two_layers):
    repo = unique_repo(registry)
    for tag in ("1.0", "2.0"):
        ok(admin("registry", "image", "push", f"{repo}:{tag}", "--source", str(two_layers)))
    listing = ok(admin("registry", "image", "list", f"{repo}*"))
    assert "| Name" in listing and "Latest Tag" in listing and repo in listing and "locked" in listing
    tags = ok(admin("registry", "image", "list", f"{repo}:*", "--format_type", "csv")).splitlines()
    assert tags[0] == "Tag,Updated Date,Image Size,Signed?" and {line.split(",")[0] for line in tags[1:]} == {
        "1.0", "2.0"}
    repository = ok(admin("registry", "image", "info", repo))
    assert "Image Repository Information" in repository and "Tags:\n    " in repository
    image = block_values(ok(admin("registry", "image", "info", f"{repo}:1.0")))
    assert image["Name"] == f"{repo}:1.0" and image["Architecture"] == "amd64"
    assert image["Digest"] == index_digest(two_layers) and image["Schema Version"] == "2"
    as_json = json.loads(ok(admin("registry", "image", "info", f"{repo}:1.0", "--format_type", "json")))
    assert as_json["digest"] == index_digest(two_layers)


def test_remove_a_tag_then_the_repository(admin, registry, two_layers):
    repo = unique_repo(registry)
    for tag in ("1.0", "2.0"):
        ok(admin("registry", "image", "push", f"{repo}:{tag}", "--source", str(two_layers)))
    ok(admin("registry", "image", "remove", f"{repo}:1.0", "-y"))
    tags = ok(admin("registry", "image", "list", f"{repo}:*", "--format_type", "csv")).splitlines()[1:]
    assert [line.split(",")[0] for line in tags] == ["2.0"]
    err = failed(admin("registry", "image", "remove", repo, input="n\n"))
    assert "was not removed" in err
    out = ok(admin("registry", "image", "remove", repo, input="y\n"))
    assert f"Successfully removed image repository '{repo}'" in out
    err = failed(admin("registry", "image", "info", f"{repo}:2.0"))
    assert err.startswith("Error: ") and "Traceback" not in err


def test_missing_image_and_refused_push_are_one_clear_sentence(ngc, registry, two_layers, tmp_path):
    admin_env = {"NGC_CLI_ORG": registry.org}
    err = failed(ngc("registry", "image", "pull", f"{registry.org}/no-such-image-{uuid.uuid4().hex[:6]}:v1",
                     "--dest", str(tmp_path), key=registry.admin_key, env=admin_env))
    assert err.startswith("Error: Image ") and err.strip().endswith("not found.")
    email = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    ok(ngc("org", "add-user", email, "Reader", "--role", "REGISTRY_READ", "--org", registry.org,
           key=registry.admin_key))
    reader_key = registry.new_key(email)
    repo = unique_repo(registry)
    err = failed(ngc("registry", "image", "push", f"{repo}:v1", "--source", str(two_layers), key=reader_key,
                     env=admin_env))
    assert f"'{repo}'" in err and "push" in err and len(err.strip().splitlines()) == 1


def test_push_without_source_needs_docker_or_podman(ngc, registry, tmp_path):
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    err = failed(ngc("registry", "image", "push", f"{registry.org}/nothing:v1", key=registry.admin_key,
                     env={"PATH": str(empty_path)}))
    assert "neither docker nor podman is installed" in err


def test_team_repository_as_guide_3_3_lists_it(admin, registry, two_layers, tmp_path):
    team = f"imgteam-{uuid.uuid4().hex[:6]}"
    ok(admin("org", "add-team", team, "Image CLI tests"))
    repo = f"{registry.org}/{team}/app"
    ok(admin("registry", "image", "push", f"{repo}:1.0", "--source", str(two_layers)))
    listing = ok(admin("registry", "image", "list", "--team", team, "--format_type", "json"))
    assert repo in {item.get("resourceId") for item in json.loads(listing)}
    err = failed(admin("registry", "image", "pull", repo, "--dest", str(tmp_path)))
    assert err.strip() == f"Error: Image '{repo}:latest' not found."
    ok(admin("registry", "image", "push", repo, "--source", str(two_layers)))  # no tag: 'latest'
    ok(admin("registry", "image", "pull", repo, "--dest", str(tmp_path)))
    assert index_digest(tmp_path / "app_latest") == index_digest(two_layers)
