"""Flags of `ngc registry model|model-script`: request bodies, metrics files, level checks, targets."""

from __future__ import annotations

import argparse
import json

import pytest

from ngc_registry.cli.commands.registry_args import (ARTIFACT, VERSION, check_flags_fit, load_metrics_files,
                                                     metadata_body, parse_artifact_target)
from ngc_registry.cli.main import main
from ngc_registry.cli.options import apply_global_defaults
from ngc_registry.errors import InvalidArgumentError, InvalidNameError
from ngc_registry.refs import Target


def parse(*argv):
    from ngc_registry.cli.main import build_parser

    return apply_global_defaults(build_parser().parse_args(list(argv)))


@pytest.fixture
def exact_options(monkeypatch):
    """Parsers that take options only as spelled: `--format` is not an abbreviation of `--format_type`."""
    original = argparse.ArgumentParser.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "allow_abbrev": False})

    monkeypatch.setattr(argparse.ArgumentParser, "__init__", init)


def test_the_guide_format_flag_reaches_the_command():
    assert parse("registry", "model", "create", "--format", "onnx", "o/m").model_format == "onnx"


def metrics_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


ZEPPELIN = {"name": "ZeppelinTable", "attributes": [{"key": "Robert", "value": "Plant"},
                                                    {"key": "Jimmy", "value": "Page"}]}


def test_guide_create_example_builds_the_model_body(tmp_path, exact_options):
    overview = tmp_path / "overview.md"
    overview.write_text("# Overview\n")
    args = parse("registry", "model", "create", "--application", "OBJECT_DETECTION", "--format", "format",
                 "--framework", "TensorFlow", "--precision", "FP16", "--short-desc", "short", "--built-by", "Me",
                 "--display-name", "Final Review Model", "--label", "fast", "--label", "sparkly",
                 "--owner-name", "MyTeam", "--overview-filename", str(overview), "--publisher", "NVIDIA MyTeam",
                 "--public-dataset-license", "MIT", "--public-dataset-link", "www.example.com",
                 "--public-dataset-name", "200_10x200_images", "nvidia/myteam/final_review_model")
    assert metadata_body(args, "models", ARTIFACT, "framework") == {
        "application": "OBJECT_DETECTION", "modelFormat": "format", "framework": "TensorFlow", "precision": "FP16",
        "shortDescription": "short", "builtBy": "Me", "displayName": "Final Review Model",
        "labels": ["fast", "sparkly"], "ownerName": "MyTeam", "description": "# Overview\n",
        "publisher": "NVIDIA MyTeam",
        "publicDatasetUsed": {"name": "200_10x200_images", "link": "www.example.com", "license": "MIT"}}


def test_model_script_create_sends_training_framework_and_text_files(tmp_path):
    files = {name: tmp_path / f"{name}.md" for name in ("adv", "perf", "qsg", "setup", "ov")}
    for name, path in files.items():
        path.write_text(name)
    args = parse("registry", "model-script", "create", "--framework", "PyTorch", "--logo", "http://x/l.png",
                 "--advanced-filename", str(files["adv"]), "--performance-filename", str(files["perf"]),
                 "--quick-start-guide-filename", str(files["qsg"]), "--setup-filename", str(files["setup"]),
                 "--overview-file", str(files["ov"]), "o/t/script")
    assert metadata_body(args, "resources", ARTIFACT, "trainingFramework") == {
        "trainingFramework": "PyTorch", "logo": "http://x/l.png", "advanced": "adv", "performance": "perf",
        "quickStartGuide": "qsg", "setup": "setup", "description": "ov"}


def test_guide_upload_example_builds_the_version_body(tmp_path, capsys):
    args = parse("registry", "model", "upload-version", "--accuracy-reached", "0.93", "--batch-size", "2000",
                 "--gpu-model", "SomeGPUModel", "--memory-footprint", "4GB", "--num-epochs", "100",
                 "--desc", "A new and exciting version: 1", "--link", "www.example.com/model/v1",
                 "--link-type", "Other", "--owner-name", "My Name",
                 "--metrics-file", metrics_file(tmp_path, "z.json", ZEPPELIN), "--source", ".", "o/t/m:1")
    assert metadata_body(args, "models", VERSION, "framework") == {
        "accuracyReached": 0.93, "batchSize": 2000, "gpuModel": "SomeGPUModel", "memoryFootprint": "4GB",
        "numberOfEpochs": 100, "description": "A new and exciting version: 1", "ownerName": "My Name",
        "otherContents": [{"key": "Other", "value": "www.example.com/model/v1"}], "customMetrics": [ZEPPELIN]}


def test_a_non_numeric_accuracy_is_left_out_with_a_warning(capsys):
    args = parse("registry", "model", "upload-version", "--accuracy-reached", "FP32", "o/t/m:1")
    warnings = []
    assert metadata_body(args, "models", VERSION, "framework", warn=warnings.append) == {}
    assert "FP32" in warnings[0]


def test_resource_version_flags(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("notes")
    args = parse("registry", "resource", "upload-version", "--release-notes-filename", str(notes), "o/s:v1")
    assert metadata_body(args, "resources", VERSION, "trainingFramework") == {"releaseNotes": "notes"}


def test_model_commands_have_no_resource_only_flags():
    with pytest.raises(SystemExit):
        parse("registry", "model", "create", "--advanced-filename", "x", "o/m")


@pytest.mark.parametrize("argv", [["--batch-size", "many"], ["--link-type", "Ftp", "--link", "x"]])
def test_typed_flags_are_checked_by_the_parser(argv):
    with pytest.raises(SystemExit):
        parse("registry", "model", "upload-version", *argv, "o/m:1")


def test_link_type_needs_a_link():
    args = parse("registry", "model", "upload-version", "--link-type", "NGC", "o/m:1")
    with pytest.raises(InvalidArgumentError, match="--link-type needs --link"):
        metadata_body(args, "models", VERSION, "framework")


def test_metrics_and_credentials_files_count_together(tmp_path):
    paths = [metrics_file(tmp_path, f"m{i}.json", ZEPPELIN) for i in range(4)]
    args = parse("registry", "model", "upload-version", "--metrics-file", paths[0], "--metrics-file", paths[1],
                 "--credentials-file", paths[2], "--credentials-file", paths[3], "o/m:1")
    with pytest.raises(InvalidArgumentError, match="At most 3"):
        metadata_body(args, "models", VERSION, "framework")


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ([1, 2], "expected a JSON object"),
    ({"attributes": [{"key": "a", "value": "b"}]}, '"name"'),
    ({"name": "", "attributes": [{"key": "a", "value": "b"}]}, '"name"'),
    ({"name": "T"}, "1 to 12"),
    ({"name": "T", "attributes": []}, "1 to 12"),
    ({"name": "T", "attributes": [{"key": f"k{i}", "value": "v"} for i in range(13)]}, "1 to 12"),
    ({"name": "T", "attributes": [{"key": "a"}]}, "attribute 1"),
    ({"name": "T", "attributes": [{"key": "a", "value": "b"}, "c"]}, "attribute 2"),
    ({"name": "T", "attributes": [{"key": "a", "value": {"x": 1}}]}, "attribute 1"),
])
def test_bad_metrics_files_get_one_clear_error(tmp_path, content, message):
    path = metrics_file(tmp_path, "bad.json", content)
    with pytest.raises(InvalidArgumentError, match="Invalid metrics file") as err:
        load_metrics_files([path])
    assert message in err.value.message and path in err.value.message


def test_a_missing_metrics_file(tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        load_metrics_files([str(tmp_path / "nope.json")])


def test_twelve_attributes_and_numbers_are_fine(tmp_path):
    table = {"name": "T", "attributes": [{"key": f"k{i}", "value": i} for i in range(12)], "extra": 1}
    assert load_metrics_files([metrics_file(tmp_path, "ok.json", table)]) == [
        {"name": "T", "attributes": table["attributes"]}]


def test_update_refuses_flags_of_the_other_level():
    args = parse("registry", "model", "update", "--batch-size", "3", "o/m")
    with pytest.raises(InvalidArgumentError, match="--batch-size can only be used on a version"):
        check_flags_fit(args, "models", ARTIFACT)
    args = parse("registry", "model", "update", "--display-name", "x", "o/m:1")
    with pytest.raises(InvalidArgumentError, match="--display-name can only be used on the artifact"):
        check_flags_fit(args, "models", VERSION)
    check_flags_fit(parse("registry", "model", "update", "--link", "x", "o/m"), "models", ARTIFACT)


def test_targets_spell_teams_as_the_server_does():
    assert parse_artifact_target("nvidia/team_a/cmr_gnmt:1") == Target("nvidia", "team-a", "cmr_gnmt", "1")
    assert parse_artifact_target("nvidia/m") == Target("nvidia", None, "m", None)
    with pytest.raises(InvalidNameError):
        parse_artifact_target("nvidia/m", version_required=True)


@pytest.mark.parametrize("argv", [
    ["registry", "model", "upload-version", "--metrics-file", "/nonexistent.json", "o/m:1"],
    ["registry", "model", "download-version", "--dest", "/nonexistent-dir", "o/m:1"],
    ["registry", "model", "upload-version", "--source", "/nonexistent-src", "o/m:1"],
    ["registry", "model", "update", "o/m"],
    ["registry", "model", "info", "--files", "o/m"],
])
def test_bad_input_fails_before_any_request(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NGC_CLI_HOME", str(tmp_path))
    monkeypatch.setenv("NGC_CLI_API_URL", "http://127.0.0.1:9")  # nothing listens: any request would fail
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (1, 2) and err.startswith("Error: ") and "connect" not in err
