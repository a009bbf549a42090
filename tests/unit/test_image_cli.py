"""`ngc registry image ...` through the real command tree, with the OCI registry in memory and the NGC image API
stubbed; output, exit codes and files on disk as a user sees them."""

from __future__ import annotations

import argparse
import json
import tarfile

import pytest

from ngc_registry.cli import main as cli_main
from ngc_registry.cli.commands import image_repository as image_command
from ngc_registry.cli.commands import image_transfer
from ngc_registry.cli.options import apply_global_defaults
from ngc_registry.client.image_api import ImageApi, search_query
from ngc_registry.client.oci import OciClient
from ngc_registry.client.oci_reference import parse_image_ref
from ngc_registry.errors import EXIT_ERROR, EXIT_OK, NotFoundError

from .test_oci_fake_registry import BASE, KEY, FakeRegistry, make_layout


@pytest.fixture
def registry(monkeypatch, tmp_path):
    fake = FakeRegistry()
    for name in ("NGC_CLI_ORG", "NGC_CLI_TEAM", "NGC_CLI_FORMAT_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NGC_CLI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NGC_CLI_API_URL", BASE)
    monkeypatch.setenv("NGC_CLI_API_KEY", KEY)
    table = [(path, "ngc_registry.cli.commands.image" if path == "registry image" else module, text)
             for path, module, text in cli_main.COMMAND_TABLE]
    monkeypatch.setattr(cli_main, "COMMAND_TABLE", table)
    monkeypatch.setattr(image_transfer, "OciClient",
                        lambda url, key, **kwargs: OciClient(url, key, transport=fake_transport(fake), **kwargs))
    return fake


def fake_transport(fake: FakeRegistry):
    import httpx

    return httpx.MockTransport(fake.handle)


def ngc(*argv: str) -> int:
    return cli_main.main(["registry", "image", *argv])


def test_push_then_pull_into_a_layout(registry, tmp_path, capsys):
    digest = make_layout(tmp_path / "src")
    assert ngc("push", "org/team/img:1.0", "--source", str(tmp_path / "src")) == EXIT_OK
    out = capsys.readouterr().out
    assert "Pushed" in out and f"Digest: {digest}" in out and "status: Completed" in out
    assert ngc("push", "org/team/img:1.1", "--source", str(tmp_path / "src")) == EXIT_OK
    assert capsys.readouterr().out.count("Layer already exists") == 3
    (tmp_path / "dest").mkdir()
    assert ngc("pull", "org/team/img:1.0", "--dest", str(tmp_path / "dest")) == EXIT_OK
    index = json.loads((tmp_path / "dest" / "img_1.0" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest


def test_push_json_summary(registry, tmp_path, capsys):
    make_layout(tmp_path / "src")
    assert ngc("push", "org/img", "--source", str(tmp_path / "src"), "--format_type", "json") == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "Completed" and summary["layersTransferred"] == 3 and summary["image"] == \
        "org/img:latest"
    assert "latest" in registry.tags["org/img"]


def test_pull_docker_archive_by_namespace(registry, tmp_path, capsys):
    """Built without the parser: `--format` is ambiguous with --format_type until the root parser stops
    abbreviating (see test_model_cli_args.py)."""
    make_layout(tmp_path / "src", platforms=("amd64", "arm64"))
    assert ngc("push", "org/img:2", "--source", str(tmp_path / "src")) == EXIT_OK
    args = apply_global_defaults(argparse.Namespace(image="org/img:2", dest=str(tmp_path), platform=None, load=False,
                                                    image_format="docker-archive", func=image_transfer.run_pull))
    assert cli_main.run_command(args) == EXIT_OK
    with tarfile.open(tmp_path / "img_2.tar") as archive:
        entry = json.load(archive.extractfile("manifest.json"))[0]
    assert entry["RepoTags"] == ["registry.test/org/img:2"] and len(entry["Layers"]) == 3
    assert not list(tmp_path.glob(".img_2*"))


def test_pull_of_a_missing_tag_is_one_clear_error(registry, tmp_path, capsys):
    assert ngc("pull", "org/img:nope", "--dest", str(tmp_path)) == EXIT_ERROR
    assert capsys.readouterr().err.strip() == "Error: Image 'org/img:nope' not found."


def test_pull_into_a_missing_directory_is_refused(registry, tmp_path, capsys):
    assert ngc("pull", "org/img", "--dest", str(tmp_path / "missing")) == EXIT_ERROR
    assert "does not exist" in capsys.readouterr().err


def test_push_without_source_and_without_docker_or_podman(registry, monkeypatch, capsys):
    monkeypatch.setattr(image_transfer, "local_tool", lambda: None)
    assert ngc("push", "org/img:1") == EXIT_ERROR
    assert "neither docker nor podman is installed" in capsys.readouterr().err


def test_invalid_chunk_size_is_a_usage_error(registry, tmp_path):
    with pytest.raises(SystemExit) as caught:
        ngc("push", "org/img:1", "--source", str(tmp_path), "--chunk-size", "lots")
    assert caught.value.code == 2


class NoNgcDelete:
    def __init__(self, session):
        pass

    def delete_repository(self, ref):
        raise NotFoundError("Not Found")


def test_remove_one_tag_and_all_tags(registry, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(image_command, "ImageApi", NoNgcDelete)
    make_layout(tmp_path / "src")
    for tag in ("1", "2"):
        ngc("push", f"org/img:{tag}", "--source", str(tmp_path / "src"))
    assert ngc("remove", "org/img:1", "-y") == EXIT_OK
    assert set(registry.tags["org/img"]) == {"2"}
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    assert ngc("remove", "org/img") == EXIT_ERROR and registry.tags["org/img"]
    assert ngc("remove", "org/img", "-y") == EXIT_OK
    assert registry.tags["org/img"] == {} and "Successfully removed image repository 'org/img'" in \
        capsys.readouterr().out


def test_remove_of_a_repository_uses_the_ngc_api_when_the_server_has_it(stub_api, capsys):
    assert ngc("remove", "org/team/img", "-y", "--format_type", "json") == EXIT_OK
    assert StubImageApi.deleted == "org/team/img" and json.loads(capsys.readouterr().out) == {
        "removed": ["org/team/img"]}


def test_remove_by_tag_falls_back_to_the_digest(registry, tmp_path, capsys):
    make_layout(tmp_path / "src")
    ngc("push", "org/img:1", "--source", str(tmp_path / "src"))
    ngc("push", "org/img:2", "--source", str(tmp_path / "src"))
    registry.delete_by_tag = False
    assert ngc("remove", "org/img:1", "-y") == EXIT_OK
    assert registry.tags["org/img"] == {} and "org/img:2 (the same image) went too" in capsys.readouterr().err


# -- list and info on the NGC image API -----------------------------------------------------------------------


class StubImageApi:
    def __init__(self, session):
        self.session = session

    def search(self, pattern, org, team):
        StubImageApi.searched = (pattern, org, team)
        resource = {"resourceId": "org/team/img", "name": "img", "displayName": "Img", "isPublic": True,
                    "dateModified": "2026-01-15T10:20:30.000Z",
                    "attributes": [{"key": "latestTag", "value": "1.0"}, {"key": "size", "value": "2545000000"}]}
        return [resource, dict(resource)]

    def list_images(self, ref):
        return [{"tag": "1.0", "size": 1024, "updatedDate": "2026-01-15T10:20:30.000Z", "isSigned": False},
                {"tag": "0.9", "size": 2048, "updatedDate": "2025-01-15T10:20:30.000Z", "isSigned": True}]

    def get_repository(self, ref):
        return {"name": "img", "latestTag": "1.0", "latestImageSize": 1024, "isPublic": False, "tags": ["1.0", "0.9"],
                "updatedDate": "2026-01-15T10:20:30.000Z"}

    def delete_repository(self, ref):
        StubImageApi.deleted = ref.repository
        return {}

    def get_image(self, ref):
        return {"name": "org/team/img", "tag": ref.tag, "architecture": "amd64", "schemaVersion": 2}

    def get_tag(self, ref):
        return {"tag": ref.tag, "size": 3 * 1024 ** 3, "digest": "sha256:" + "a" * 64, "isSigned": False,
                "updatedDate": "2026-01-15T10:20:30.000Z"}


@pytest.fixture
def stub_api(registry, monkeypatch):
    monkeypatch.setattr(image_command, "ImageApi", StubImageApi)


def test_list_shows_the_guide_columns_once_per_repository(stub_api, capsys):
    assert ngc("list", "--org", "org", "--team", "Team_B") == EXIT_OK
    out = capsys.readouterr().out
    assert "| Name | Repository   | Latest Tag | Image Size | Updated Date | Permission |" in out
    assert out.count("org/team/img") == 1 and "2.37 GB" in out and "Jan 15, 2026" in out and "unlocked" in out
    assert StubImageApi.searched == ("*", "org", "team-b")


def test_list_pattern_takes_org_and_team_separately(stub_api, capsys, monkeypatch):
    monkeypatch.setenv("NGC_CLI_ORG", "mine")
    monkeypatch.setenv("NGC_CLI_TEAM", "myteam")
    ngc("list", "other/*")
    assert StubImageApi.searched == ("other/*", "other", "myteam")


def test_list_tags_filtered_and_as_csv(stub_api, capsys):
    assert ngc("list", "org/team/img:1.*", "--format_type", "csv") == EXIT_OK
    assert capsys.readouterr().out.strip().splitlines() == ["Tag,Updated Date,Image Size,Signed?",
                                                            "1.0,\"Jan 15, 2026\",1.00 KB,No"]


def test_list_tags_falls_back_to_the_oci_tags_list(registry, tmp_path, capsys, monkeypatch):
    class NoImageApi(StubImageApi):
        def list_images(self, ref):
            raise NotFoundError("no such endpoint")

    monkeypatch.setattr(image_command, "ImageApi", NoImageApi)
    make_layout(tmp_path / "src")
    ngc("push", "org/img:b", "--source", str(tmp_path / "src"))
    ngc("push", "org/img:a", "--source", str(tmp_path / "src"))
    capsys.readouterr()
    assert ngc("list", "org/img:*", "--format_type", "csv") == EXIT_OK
    assert capsys.readouterr().out.splitlines()[1:] == ["a,,,No", "b,,,No"]


def test_info_of_a_repository_lists_its_tags_one_per_line(stub_api, capsys):
    assert ngc("info", "org/team/img") == EXIT_OK
    out = capsys.readouterr().out
    assert "Image Repository Information" in out and "Name: org/team/img" in out
    assert "Tags:\n    1.0\n    0.9" in out and "Public: No" in out


def test_info_of_a_tag(stub_api, capsys):
    assert ngc("info", "org/team/img:1.0") == EXIT_OK
    out = capsys.readouterr().out
    for line in ("Image Information", "Name: org/team/img:1.0", "Architecture: amd64", "Image Size: 3.00 GB",
                 "Schema Version: 2", "Signed?: No", "Last Updated: Jan 15, 2026"):
        assert line in out


def test_info_json(stub_api, capsys):
    assert ngc("info", "org/team/img:1.0", "--format_type", "json") == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["architecture"] == "amd64" and data["digest"].startswith("sha256:")


# -- the NGC image API's requests -------------------------------------------------------------------------------


class RecordingSession:
    is_guest = False

    def __init__(self, pages):
        self.pages, self.calls = pages, []

    def request_json(self, method, path, params=None, scope=None):
        self.calls.append((method, path, params, scope))
        return self.pages.pop(0) if self.pages else {}


def test_image_api_paths_and_paging():
    ref = parse_image_ref("org/team/img:1.0")
    session = RecordingSession([{"images": [{"tag": "a", "updatedDate": "1"}], "paginationInfo": {"totalPages": 2}},
                                {"images": [{"tag": "b", "updatedDate": "2"}], "paginationInfo": {"totalPages": 2}}])
    api = ImageApi(session)
    assert [image["tag"] for image in api.list_images(ref)] == ["b", "a"]
    api.get_repository(ref)
    api.get_image(ref)
    api.get_tag(ref)
    paths = [call[1] for call in session.calls]
    assert paths == ["/v2/org/org/team/team/repos/img/images"] * 2 + ["/v2/org/org/team/team/repos/img",
                                                                     "/v2/org/org/team/team/repos/img/images/1.0",
                                                                     "/v2/org/org/team/team/repos/img/tags/1.0"]
    assert session.calls[1][2]["page-number"] == 1 and session.calls[0][3] == ("org", "team")


def test_container_search_uses_three_urls():
    session = RecordingSession([{"results": [{"groupValue": "CONTAINER", "resources": [{"name": "a"}]}]}])
    assert [r["name"] for r in ImageApi(session).search("org/*", "org", None)] == ["a"]
    assert [call[1] for call in session.calls] == ["/v2/search/catalog/resources/CONTAINER",
                                                   "/v2/search/org/org/resources/CONTAINER",
                                                   "/v2/search/subscriber/catalog/resources/CONTAINER"]
    assert json.loads(search_query("org/*", 0, 100))["query"] == "resourceId:org/*"


def test_push_without_source_saves_the_local_docker_image(registry, tmp_path, monkeypatch, capsys):
    digest = make_layout(tmp_path / "layout")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    with tarfile.open(bin_dir / "image.tar", "w") as archive:
        for path in sorted((tmp_path / "layout").rglob("*")):
            archive.add(path, arcname=str(path.relative_to(tmp_path / "layout")), recursive=False)
    script = bin_dir / "docker"
    script.write_text('#!/bin/sh\ncase "$1" in image) exit 0 ;; save) cp "$(dirname "$0")/image.tar" "$3" ;; esac\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert ngc("push", "org/img:1.0") == EXIT_OK
    out = capsys.readouterr().out
    assert "Saving 'registry.test/org/img:1.0' from docker..." in out and registry.tags["org/img"]["1.0"] == digest
