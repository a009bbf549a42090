"""How models and versions read on screen: dates, search results, permission, info blocks, the transfer summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from ngc_registry.cli.commands.registry_progress import summary_json, summary_lines
from ngc_registry.cli.commands.registry_views import (from_search, list_row, permission, render_info, short_date,
                                                      utc_time, version_pairs)
from ngc_registry.client.registry_kinds import MODELS, RESOURCES
from ngc_registry.client.transfer_common import TransferResult
from ngc_registry.errors import EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_TRANSFER_FAILED

SEARCH_RESULT = {
    "resourceId": "testorg/testteam/mymodel", "name": "mymodel", "displayName": "Mymodel", "orgName": "testorg",
    "teamName": "testteam", "dateModified": "2020-09-24T10:20:30.123Z", "isPublic": False,
    "labels": [{"key": "general", "values": ["probe", "x"]}, {"key": "productNames", "values": ["p1"]}],
    "attributes": [{"key": "latestVersionIdStr", "value": "1"}, {"key": "framework", "value": "PyTorch"},
                   {"key": "format", "value": "pt"}, {"key": "precision", "value": "FP32"}]}


def test_dates_read_like_the_guide():
    assert short_date("2020-09-24T10:20:30.123Z") == "Sep 24, 2020"
    assert short_date("2020-09-24T10:20:30Z") == "Sep 24, 2020"
    assert short_date("not a date") == "not a date" and short_date(None) == ""
    assert utc_time("2026-01-15T10:20:30.000Z") == "2026-01-15 10:20:30 UTC"


def test_search_results_are_mapped_per_kind():
    model = from_search(SEARCH_RESULT, MODELS)
    assert model["updatedDate"] == "2020-09-24T10:20:30.123Z" and model["modelFormat"] == "pt"
    assert model["framework"] == "PyTorch" and model["general"] == "probe x" and model["productNames"] == ["p1"]
    assert from_search(SEARCH_RESULT, RESOURCES)["trainingFramework"] == "PyTorch"
    row = list_row(model, MODELS)
    assert row[:3] == ["Mymodel", "testorg/testteam/mymodel", "1"] and row[6] == "Sep 24, 2020"
    assert row[7] == "locked"


def test_permission_follows_is_public():
    assert permission({"isPublic": True}) == "unlocked" and permission({}) == "locked"


def test_info_blocks_put_list_values_one_per_line():
    text = render_info("Model Information", [("Name", "m"), ("Labels", ["a", "b"])])
    lines = text.splitlines()
    assert lines[1:-1] == ["Model Information", "Name: m", "Labels:", "    a", "    b"]
    assert set(lines[0]) == {"-"} and lines[0] == lines[-1]


def test_version_pairs_with_files_and_metrics():
    pairs = dict(version_pairs({"versionId": "1", "totalSizeInBytes": 2048,
                                "customMetrics": [{"name": "T", "attributes": [{"key": "k", "value": "v"}]}]},
                               [{"path": "a.bin", "sizeInBytes": 1536}]))
    assert pairs["Total Size"] == "2.00 KB" and pairs["Custom Metrics"] == ["T: k=v"]
    assert pairs["File List"] == ["a.bin: 1.50 KB"]


def result(**changes) -> TransferResult:
    started = datetime(2019, 3, 18, 14, 9, 31, 664000)
    base = TransferResult("Download", "trt_onnx_vgg16_v1", Path("/models/trt_onnx_vgg16_v1"), started=started,
                          completed=started + timedelta(seconds=38), files_total=3, files_done=3,
                          bytes_total=242134466, bytes_transferred=242134466)
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_download_summary_matches_the_guide():
    assert summary_lines(result()) == [
        "Downloaded 230.92 MB in 38s, Download speed: 6.08 MB/s", "-" * 60,
        "Transfer id: trt_onnx_vgg16_v1 Download status: Completed.",
        "Downloaded local path: /models/trt_onnx_vgg16_v1", "Total files downloaded: 3",
        "Total downloaded size: 230.92 MB", "Started at: 2019-03-18 14:09:31.664000",
        "Completed at: 2019-03-18 14:10:09.664000", "Duration taken: 38s", "-" * 60]


def test_upload_summary_names_the_version_status():
    lines = summary_lines(result(direction="Upload", version_status="UPLOAD_COMPLETE", files_skipped=1))
    assert "Upload status: Completed." in lines[2] and "Total files uploaded: 3" in lines
    assert "Files already on the server, not sent: 1" in lines and lines[-2] == "Version Status: UPLOAD_COMPLETE"
    assert summary_json(result(direction="Upload"))["versionStatus"] == "UPLOAD_PENDING"


def test_status_and_exit_codes():
    assert (result().status, result().exit_code) == ("Completed", EXIT_OK)
    assert result(failures={"a": "x"}).exit_code == EXIT_INCOMPLETE
    failed = result(failures={"a": "x"}, files_done=0)
    assert (failed.status, failed.exit_code) == ("Failed", EXIT_TRANSFER_FAILED)
    assert result(stopped_by="SIGTERM").exit_code == EXIT_TERMINATED
    assert result(stopped_by="interrupt").exit_code == EXIT_INTERRUPTED
