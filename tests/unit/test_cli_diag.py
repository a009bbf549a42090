"""`ngc diag`: machine figures from the stdlib, masking, and a server that is down."""

from __future__ import annotations

import json
import socket

import pytest

from ngc_registry.cli.commands.diag import (directory_size, format_bytes, memory_usage, ngc_environment,
                                            parse_meminfo)
from ngc_registry.cli.main import main

MEMINFO = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8000000 kB\nHugePages_Total: 0\n"


@pytest.fixture
def server_down(tmp_path, monkeypatch):
    for name in ("NGC_CLI_API_KEY", "NGC_API_KEY", "NGC_CLI_ORG", "NGC_CLI_TEAM", "NGC_CLI_FORMAT_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NGC_CLI_HOME", str(tmp_path))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("NGC_CLI_API_URL", url)
    return url


def test_parse_meminfo_in_bytes():
    info = parse_meminfo(MEMINFO)
    assert info["MemTotal"] == 16000000 * 1024 and info["HugePages_Total"] == 0


def test_memory_usage_text(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text(MEMINFO)
    assert memory_usage(path) == "Total: 15.3 GiB, Used: 7.6 GiB, Available: 7.6 GiB"
    assert memory_usage(tmp_path / "missing") == "unavailable on this system"


@pytest.mark.parametrize("size, text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024 ** 3, "5.0 GiB")])
def test_format_bytes(size, text):
    assert format_bytes(size) == text


def test_directory_size_counts_files_and_stops_at_the_limit(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a").write_bytes(b"x" * 1000)
    (tmp_path / "sub" / "b").write_bytes(b"x" * 23)
    assert directory_size(tmp_path) == "1023 B"
    assert directory_size(tmp_path, entry_limit=1).startswith("at least")


def test_environment_names_shown_with_keys_masked():
    text = ngc_environment({"NGC_CLI_API_KEY": "secret-value-wxyz", "NGC_CLI_ORG": "o", "HOME": "/root"})
    assert text == "NGC_CLI_API_KEY=****wxyz, NGC_CLI_ORG=o"
    assert ngc_environment({}) == "None"


def test_diag_with_server_down_prints_client_sections_and_exits_1(server_down, capsys):
    assert main(["diag"]) == 1
    captured = capsys.readouterr()
    for item in ("Current time:", "Operating system:", "Disk usage:", "Current directory size:", "Memory usage:",
                 "NGC CLI environment variables set:", "CLI version: NGC Registry CLI", "Python version:",
                 "Install path:", "NGC CLI configuration values:"):
        assert item in captured.out
    assert "API gateway connectivity: failed (connection refused)" in captured.out
    assert "API connectivity to the container registry: failed (connection refused)" in captured.out
    assert "API connectivity to the model registry: failed (connection refused)" in captured.out
    assert captured.err.startswith("Error: Diagnostics found")


def test_diag_client_section_alone_succeeds(server_down, capsys):
    assert main(["diag", "client"]) == 0
    out = capsys.readouterr().out
    assert "Client Information" in out and "Server Information" not in out


def test_diag_json_masks_the_key(server_down, monkeypatch, capsys):
    monkeypatch.setenv("NGC_CLI_API_KEY", "my-secret-key-1234")
    assert main(["diag", "user", "--format_type", "json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "my-secret" not in captured.out + captured.err
    assert "apikey=****1234" in report["user"]["NGC CLI configuration values"]
    assert report["user"]["User information"] == "failed (connection refused)"


def test_diag_rejects_unknown_section():
    with pytest.raises(SystemExit) as exited:
        main(["diag", "everything"])
    assert exited.value.code == 2
