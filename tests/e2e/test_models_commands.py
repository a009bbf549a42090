"""`ngc registry model|model-script|resource` against a real server: every command of guide chapter 6, its flags,
its printed output, and the bad input it must refuse clearly."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.shared_registry]


def ok(result):
    assert result.returncode == 0, f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def failed(result, exit_code=1):
    assert result.returncode == exit_code, f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr and result.stderr.startswith("Error: ")
    return result.stderr


def block_values(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@pytest.fixture
def space(ngc, registry):
    """A fresh team in the test org, and a function running `ngc` as the org admin."""
    team = f"team-{uuid.uuid4().hex[:8]}"

    def admin(*args, **kwargs):
        kwargs.setdefault("key", registry.admin_key)
        env = {"NGC_CLI_ORG": registry.org, **kwargs.pop("env", {})}
        return ngc(*args, env=env, **kwargs)

    ok(admin("org", "add-team", team, "test team"))
    admin.org, admin.team = registry.org, team
    return admin


@pytest.fixture
def files(tmp_path):
    """Metadata files the guide's examples name, and a small version directory."""
    for name in ("overview", "advanced", "perf", "quick", "setup", "notes"):
        (tmp_path / f"{name}.md").write_text(f"# {name}\n")
    (tmp_path / "zeppelin_table.json").write_text(json.dumps(
        {"name": "ZeppelinTable", "attributes": [{"key": "Robert", "value": "Plant"}, {"key": "Jimmy", "value": "Page"},
                                                 {"key": "John", "value": "Bonham"}]}))
    (tmp_path / "rhcp_table.json").write_text(json.dumps(
        {"name": "RHCPTable", "attributes": [{"key": "Anthony", "value": "Keidis"}]}))
    source = tmp_path / "version-dir"
    (source / "sub").mkdir(parents=True)
    (source / "model.onnx").write_bytes(b"onnx" * 1000)
    (source / "sub" / "labels.txt").write_text("cat\ndog\n")
    (source / "empty.txt").write_bytes(b"")
    return tmp_path


def create_guide_model(space, files, target, *format_flag):
    """Guide §6.1.1.2, every flag; `--format` needs the root parser to take options as spelled."""
    result = space("registry", "model", "create", "--application", "OBJECT_DETECTION", *format_flag,
                   "--framework", "TensorFlow", "--precision", "FP16",
                   "--short-desc", "A model for object detection using TensorFlow", "--built-by", "My Name",
                   "--display-name", "Final Review Model", "--label", "fast", "--label", "sparkly",
                   "--owner-name", "MyTeam", "--overview-filename", str(files / "overview.md"),
                   "--publisher", "NVIDIA MyTeam", "--public-dataset-license", "MIT",
                   "--public-dataset-link", "www.example.com", "--public-dataset-name", "200_10x200_images", target)
    return ok(result)


def test_guide_create_example_with_format(space, files):
    out = create_guide_model(space, files, f"{space.org}/{space.team}/final_review_model", "--format", "format")
    assert block_values(out)["Model Format"] == "format"


def test_model_create_upload_list_info_download_as_the_guide_writes_them(space, files, tmp_path):
    target = f"{space.org}/{space.team}/final_review_model"
    out = create_guide_model(space, files, target)
    info = block_values(out)
    assert "Model Information" in out and info["Display Name"] == "Final Review Model"
    assert info["Framework"] == "TensorFlow" and info["Permission"] == "locked"
    assert "    fast\n    sparkly" in out and info["Overview"] == "# overview"

    out = ok(space("registry", "model", "upload-version", "--accuracy-reached", "0.93", "--batch-size", "2000",
                   "--gpu-model", "SomeGPUModel", "--memory-footprint", "4GB", "--num-epochs", "100",
                   "--desc", "A new and exciting version: 1", "--link", "www.example.com/model/v1",
                   "--link-type", "Other", "--owner-name", "My Name",
                   "--metrics-file", str(files / "zeppelin_table.json"),
                   "--metrics-file", str(files / "rhcp_table.json"),
                   "--source", str(files / "version-dir"), f"{target}:1"))
    assert "Upload status: Completed." in out and "Total files uploaded: 3" in out
    assert "Version Status: UPLOAD_COMPLETE" in out and "Transfer id: final_review_model_v1" in out

    listing = ok(space("registry", "model", "list", f"{space.org}/{space.team}/final*"))
    assert "| Final Review Model |" in listing and f"{target} " in listing and "| locked " in listing
    versions = ok(space("registry", "model", "list", f"{target}:*"))
    assert "UPLOAD_COMPLETE" in versions and "| 2000 " in versions and "SomeGPUModel" in versions

    out = ok(space("registry", "model", "info", f"{target}:1", "--files"))
    values = block_values(out)
    assert values["Total File Count"] == "3" and values["Accuracy Reached"] == "0.93"
    assert "ZeppelinTable: Robert=Plant, Jimmy=Page, John=Bonham" in out and "Other: www.example.com/model/v1" in out
    assert "    model.onnx: 3.91 KB" in out and "    sub/labels.txt: 8.00 B" in out

    dest = tmp_path / "models"
    dest.mkdir()
    out = ok(space("registry", "model", "download-version", f"{target}:1", "-d", str(dest)))
    assert out.splitlines()[0].startswith("Downloaded 3.91 KB in ") and ", Download speed: " in out
    assert f"Downloaded local path: {dest / 'final_review_model_v1'}" in out and "Total files downloaded: 3" in out
    assert "Transfer id: final_review_model_v1 Download status: Completed." in out
    for name in ("model.onnx", "sub/labels.txt", "empty.txt"):
        assert (dest / "final_review_model_v1" / name).read_bytes() == (files / "version-dir" / name).read_bytes()


def test_model_without_guide_format_flag_and_json_output(space, files):
    target = f"{space.org}/{space.team}/jsonmodel"
    created = json.loads(ok(space("registry", "model", "create", "--framework", "PyTorch", "--label", "x",
                                  "--format_type", "json", target)))
    assert created["name"] == "jsonmodel" and created["framework"] == "PyTorch" and created["labels"] == ["x"]
    summary = json.loads(ok(space("registry", "model", "upload-version", "--source", str(files / "version-dir"),
                                  "--format_type", "json", f"{target}:1.0")))
    assert summary["status"] == "Completed" and summary["versionStatus"] == "UPLOAD_COMPLETE"
    listed = json.loads(ok(space("registry", "model", "list", target, "--format_type", "json")))
    assert [item["resourceId"] for item in listed] == [target] and listed[0]["latestVersionIdStr"] == "1.0"
    version = json.loads(ok(space("registry", "model", "info", f"{target}:1.0", "--files", "--format_type", "json")))
    assert sorted(f["path"] for f in version["file_list"]) == ["empty.txt", "model.onnx", "sub/labels.txt"]
    assert version["version"]["status"] == "UPLOAD_COMPLETE"


def test_latest_version_is_downloaded_when_none_is_given(space, files, tmp_path, monkeypatch):
    target = f"{space.org}/{space.team}/latest"
    ok(space("registry", "model", "create", target))
    ok(space("registry", "model", "upload-version", "--source", str(files / "version-dir" / "model.onnx"),
             f"{target}:1"))
    monkeypatch.chdir(tmp_path)
    out = ok(space("registry", "model", "download-version", target))
    assert out.startswith("No version specified, downloading latest version: '1'.")
    assert (tmp_path / "latest_v1" / "model.onnx").stat().st_size == 4000


def test_update_model_and_version_as_the_guide_writes_them(space, files):
    target = f"{space.org}/{space.team}/upd"
    ok(space("registry", "model", "create", "--short-desc", "old", target))
    ok(space("registry", "model", "upload-version", "--source", str(files / "version-dir"), f"{target}:1"))
    (files / "new_overview.md").write_text("updated overview")
    out = ok(space("registry", "model", "update", "--overview-filename", str(files / "new_overview.md"), target))
    assert block_values(out)["Overview"] == "updated overview"
    out = ok(space("registry", "model", "update", "--accuracy-reached", "16", "--memory-footprint", "16GB",
                   f"{target}:1"))
    values = block_values(out)
    assert values["Memory Footprint"] == "16GB" and values["Accuracy Reached"] == "16.0"
    out = ok(space("registry", "model", "update", "--metrics-file", str(files / "rhcp_table.json"), f"{target}:1"))
    assert "RHCPTable: Anthony=Keidis" in out
    err = failed(space("registry", "model", "update", "--batch-size", "4", target), 2)
    assert "--batch-size can only be used on a version" in err


def test_model_script_commands_with_every_guide_flag(space, files, tmp_path):
    target = f"{space.org}/{space.team}/final_review_model_script"
    out = ok(space("registry", "model-script", "create", "--application", "CLASSIFICATION", "--framework",
                   "TensorFlow", "--precision", "FP16", "--short-desc", "A short description of this model-script.",
                   "--advanced-filename", str(files / "advanced.md"), "--built-by", "My Name",
                   "--display-name", "Model Script for Model Final Review Model", "--label", "a", "--label", "b",
                   "--label", "c", "--logo", "www.example.com/mylogo.jpeg",
                   "--overview-file", str(files / "overview.md"), "--performance-filename", str(files / "perf.md"),
                   "--public-dataset-license", "LicenseType", "--public-dataset-link", "www.example.com/my/dataset",
                   "--public-dataset-name", "My Dataset", "--publisher", "NVIDIA",
                   "--quick-start-guide-filename", str(files / "quick.md"), "--setup-filename", str(files / "setup.md"),
                   target))
    assert "Model-script Information" in out and block_values(out)["Logo"] == "www.example.com/mylogo.jpeg"
    out = ok(space("registry", "model-script", "upload-version", "--accuracy-reached", "16", "--batch-size", "2000",
                   "--gpu-model", "GPU MODEL", "--memory-footprint", "16GB", "--num-epochs", "100",
                   "--desc", "A full description of the target version",
                   "--performance-filename", str(files / "perf.md"),
                   "--quick-start-guide-filename", str(files / "quick.md"),
                   "--release-notes-filename", str(files / "notes.md"), "--setup-filename", str(files / "setup.md"),
                   "--source", str(files / "version-dir"), f"{target}:v1"))
    assert "Version Status: UPLOAD_COMPLETE" in out
    out = ok(space("registry", "model-script", "update", "--display-name", "Awesome Model-Script Mark 1",
                   "--link", "www.example.com/corrected/url.png", target))
    values = block_values(out)
    assert values["Display Name"] == "Awesome Model-Script Mark 1"
    assert values["Logo"] == "www.example.com/corrected/url.png"
    (files / "perf2.md").write_text("faster")
    version = json.loads(ok(space("registry", "model-script", "update", "--performance-filename",
                                  str(files / "perf2.md"), f"{target}:v1", "--format_type", "json")))
    assert version["performance"] == "faster" and version["releaseNotes"] == "# notes\n"

    assert "Awesome Model-Script Mark 1" in ok(space("registry", "model-script", "list"))
    assert "| v1 " in ok(space("registry", "resource", "list", f"{target}:*"))
    info = ok(space("registry", "resource", "info", target))
    assert "Can Guest Download: False" in info and " UTC" in block_values(info)["Created Date"]
    dest = tmp_path / "model-scripts"
    dest.mkdir()
    out = ok(space("registry", "model-script", "download-version", f"{target}:v1", "--dest", str(dest),
                   "--file", "sub/*", "--file", "*.onnx", "--exclude", "*.onnx"))
    assert "Total files downloaded: 1" in out
    assert [p.name for p in (dest / "final_review_model_script_vv1").rglob("*") if p.is_file()] == ["labels.txt"]
    assert "Successfully removed model-script version" in ok(space("registry", "resource", "remove", "-y",
                                                                   f"{target}:v1"))
    assert "Successfully removed model-script" in ok(space("registry", "model-script", "remove", "-y", target))


def test_remove_asks_for_confirmation(space, files):
    target = f"{space.org}/{space.team}/doomed"
    ok(space("registry", "model", "create", target))
    ok(space("registry", "model", "upload-version", "--source", str(files / "version-dir"), f"{target}:1"))
    result = space("registry", "model", "remove", f"{target}:1", input="n\n")
    err = result.stderr
    assert result.returncode == 1 and "Traceback" not in err
    assert "Are you sure you would like to remove the model version" in err and "was not removed" in err
    assert "Successfully removed model version" in ok(space("registry", "model", "remove", f"{target}:1",
                                                            input="y\n"))
    assert "Successfully removed model" in ok(space("registry", "model", "remove", "-y", target))
    assert "could not be found" in failed(space("registry", "model", "info", target))


def test_public_models_are_visible_to_guests_and_unlocked(space, files, tmp_path):
    target = f"{space.org}/{space.team}/shared"
    ok(space("registry", "model", "create", target))
    ok(space("registry", "model", "upload-version", "--source", str(files / "version-dir"), f"{target}:1"))
    guest = {"NGC_CLI_ORG": ""}
    assert "not public" in failed(space("registry", "model", "info", target, key="", env=guest))
    out = ok(space("registry", "model", "update", "--public", target))
    assert block_values(out)["Permission"] == "unlocked"
    listing = ok(space("registry", "model", "list", f"{space.org}/{space.team}/shared", key="", env=guest))
    assert target in listing and "| unlocked " in listing
    assert block_values(ok(space("registry", "model", "info", target, key="", env=guest)))["Name"] == "shared"
    dest = tmp_path / "guest"
    dest.mkdir()
    ok(space("registry", "model", "download-version", f"{target}:1", "-d", str(dest), key="", env=guest))
    assert (dest / "shared_v1" / "model.onnx").exists()
    ok(space("registry", "model", "update", "--no-public", target))
    failed(space("registry", "model", "info", target, key="", env=guest))


def test_dry_runs_transfer_nothing(space, files, tmp_path):
    target = f"{space.org}/{space.team}/dry"
    ok(space("registry", "model", "create", target))
    out = ok(space("registry", "model", "upload-version", "--dry-run", "--source", str(files / "version-dir"),
                   f"{target}:1"))
    assert "Dry run: 3 files" in out and "sub/labels.txt" in out
    assert "could not be found" in failed(space("registry", "model", "info", f"{target}:1"))
    ok(space("registry", "model", "upload-version", "--source", str(files / "version-dir"), f"{target}:1"))
    out = ok(space("registry", "model", "download-version", "--dry-run", f"{target}:1", "-d", str(tmp_path)))
    assert "Dry run: 3 files" in out and not (tmp_path / "dry_v1").exists()


# -- bad input ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"name": "T", "attributes": []}), "1 to 12"),
    (json.dumps({"name": "T", "attributes": [{"key": str(i), "value": "v"} for i in range(13)]}), "1 to 12"),
    (json.dumps({"attributes": [{"key": "k", "value": "v"}]}), '"name"'),
])
def test_bad_metrics_files_are_refused_before_anything_is_created(space, files, content, message):
    target = f"{space.org}/{space.team}/metrics"
    ok(space("registry", "model", "create", target))
    (files / "bad.json").write_text(content)
    err = failed(space("registry", "model", "upload-version", "--metrics-file", str(files / "bad.json"),
                       "--source", str(files / "version-dir"), f"{target}:1"), 2)
    assert "Invalid metrics file" in err and message in err
    assert "could not be found" in failed(space("registry", "model", "info", f"{target}:1"))


def test_four_metrics_files_are_too_many(space, files):
    table = str(files / "rhcp_table.json")
    err = failed(space("registry", "model", "upload-version", "--metrics-file", table, "--metrics-file", table,
                       "--credentials-file", table, "--credentials-file", table,
                       "--source", str(files / "version-dir"), f"{space.org}/{space.team}/x:1"), 2)
    assert "At most 3 metrics files" in err


def test_uploading_onto_a_complete_version_fails(space, files):
    target = f"{space.org}/{space.team}/twice"
    ok(space("registry", "model", "create", target))
    ok(space("registry", "model", "upload-version", "--source", str(files / "version-dir"), f"{target}:1"))
    err = failed(space("registry", "model", "upload-version", "--source", str(files / "version-dir"), f"{target}:1"))
    assert err == f"Error: Target '{target}:1' already exists.\n"


def test_missing_source_and_dest(space, files, tmp_path):
    target = f"{space.org}/{space.team}/paths"
    err = failed(space("registry", "model", "upload-version", "--source", str(tmp_path / "nope"), f"{target}:1"))
    assert f"The path: '{tmp_path / 'nope'}' does not exist." in err
    err = failed(space("registry", "model", "download-version", "--dest", str(tmp_path / "nope"), f"{target}:1"))
    assert f"The path: '{tmp_path / 'nope'}' does not exist." in err


def test_downloading_an_incomplete_version_fails(space, files, registry, tmp_path):
    import httpx

    target = f"{space.org}/{space.team}/pending"
    ok(space("registry", "model", "create", target))
    token = httpx.get(f"{registry.url}/token", params={"service": "ngc"},
                      auth=httpx.BasicAuth("$oauthtoken", registry.admin_key)).json()["token"]
    response = httpx.post(f"{registry.url}/v2/org/{space.org}/team/{space.team}/models/pending/versions",
                          json={"versionId": "1"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    err = failed(space("registry", "model", "download-version", f"{target}:1", "-d", str(tmp_path)), 3)
    assert f"'{target}:1' is not in state UPLOAD_COMPLETE." in err


def test_unknown_targets_and_bad_names(space):
    err = failed(space("registry", "model", "info", f"{space.org}/{space.team}/nothing"))
    assert "could not be found" in err
    assert "Invalid target" in failed(space("registry", "model", "info", "justaname"))
    assert "Invalid name" in failed(space("registry", "model", "create", f"{space.org}/Bad Name"))
