"""Container images over the NGC API (PROTOCOL.md §4.5 I1–I4, metadata, delete) and the CONTAINER search (§4.2)."""

from __future__ import annotations

import json

import pytest

from .conftest import ORG
from .oci_support import OCI_INDEX, OCI_MANIFEST, Oci, descriptor, repo

SEARCH_Q = {"fields": ["attributes", "name"], "filters": [], "orderBy": [{"field": "score", "value": "ASC"}],
            "page": 0, "pageSize": 100, "queryFields": ["name"]}


@pytest.fixture
def oci(registry) -> Oci:
    return Oci(registry, registry.admin_key)


@pytest.fixture
def pushed(oci) -> dict:
    """org/app with tags v1 (amd64) and multi (an amd64 + arm64 index), multi pushed last."""
    v1, v1_body = oci.push_image(repo("app"), "v1", [b"a" * 100, b"b" * 50], "amd64")
    arm, arm_body = oci.push_image(repo("app"), "arm", [b"c" * 70], "arm64")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**descriptor(v1_body, OCI_MANIFEST), "platform": {"architecture": "amd64", "os": "linux"}},
        {**descriptor(arm_body, OCI_MANIFEST), "platform": {"architecture": "arm64", "os": "linux"}}]}
    response = oci.put_manifest(repo("app"), "multi", index)
    assert response.status_code == 201
    return {"v1": v1, "arm": arm, "multi": response.headers["docker-content-digest"]}


def ngc(registry, method: str, path: str, key: str | None = "admin", **kwargs):
    return registry.call(method, f"/v2/org/{ORG}{path}", registry.admin_key if key == "admin" else key, **kwargs)


def config_size(arch: str) -> int:
    return len(json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}))


def test_repository_info(registry, pushed):
    info = ngc(registry, "GET", "/repos/app?resolve-labels=false").json()
    assert info["name"] == "app" and info["resourceId"] == repo("app") and info["latestTag"] == "multi"
    assert info["tags"] == ["multi", "arm", "v1"] and info["isPublic"] is False
    assert info["latestImageSize"] == config_size("amd64") + 150 + config_size("arm64") + 70
    assert [(v["architecture"], v["digest"]) for v in info["latestArchitectureVariants"]] == [
        ("amd64", pushed["v1"]), ("arm64", pushed["arm"])]
    assert info["updatedDate"].endswith("Z") and info["requestStatus"]["statusCode"] == "SUCCESS"


def test_image_list_and_one_tag(registry, pushed):
    listed = ngc(registry, "GET", "/repos/app/images").json()
    assert [(i["tag"], i["digest"]) for i in listed["images"]] == [
        ("multi", pushed["multi"]), ("arm", pushed["arm"]), ("v1", pushed["v1"])]
    assert listed["paginationInfo"]["totalResults"] == 3
    paged = ngc(registry, "GET", "/repos/app/images?page-size=2&page-number=1").json()
    assert [i["tag"] for i in paged["images"]] == ["v1"]
    image = ngc(registry, "GET", "/repos/app/images/v1").json()
    assert image["architecture"] == "amd64" and image["schemaVersion"] == 2 and image["name"] == repo("app")
    assert ngc(registry, "GET", "/repos/app/images/multi").json()["architecture"] == "amd64, arm64"
    tag = ngc(registry, "GET", "/repos/app/tags/v1").json()
    assert tag["digest"] == pushed["v1"] and tag["size"] == config_size("amd64") + 150 and tag["isSigned"] is False
    assert tag["architectureVariants"] == [{"architecture": "amd64", "os": "linux", "variant": None,
                                            "digest": pushed["v1"], "compressedSize": tag["size"]}]
    assert ngc(registry, "GET", "/repos/app/tags/nope").status_code == 404
    assert ngc(registry, "GET", "/repos/nope").status_code == 404


def test_team_repositories(registry, oci):
    registry.add_team("team-a")
    oci.push_image(f"{ORG}/team-a/tool", "1.0")
    info = ngc(registry, "GET", "/team/team-a/repos/tool").json()
    assert info["resourceId"] == f"{ORG}/team-a/tool" and info["teamName"] == "team-a"
    assert ngc(registry, "GET", "/repos/tool").status_code == 404


def test_metadata_visibility_and_latest_tag(registry, pushed):
    changed = ngc(registry, "PATCH", "/repos/app", json={
        "displayName": "App", "shortDescription": "short", "description": "# Overview", "labels": ["gpu"],
        "isPublic": True, "latestTag": "v1"})
    assert changed.status_code == 200
    body = changed.json()
    assert (body["displayName"], body["shortDescription"], body["description"], body["labels"]) == (
        "App", "short", "# Overview", ["gpu"])
    assert body["isPublic"] is True and body["latestTag"] == "v1"
    assert ngc(registry, "PATCH", "/repos/app", json={"latestTag": "nope"}).status_code == 404
    guest = Oci(registry, None)
    assert guest.call("GET", f"/v2/{repo('app')}/manifests/v1").status_code == 200


def test_only_admins_change_visibility_and_patch_can_create_a_repository(registry, pushed):
    writer = registry.add_user("writer@example.com", ["REGISTRY_WRITE_USER_ROLE"])
    assert ngc(registry, "PATCH", "/repos/app", writer, json={"isPublic": True}).status_code == 403
    assert ngc(registry, "PATCH", "/repos/app", writer, json={"description": "ok"}).status_code == 200
    reader = registry.add_user("reader@example.com", ["REGISTRY_READ"])
    assert ngc(registry, "PATCH", "/repos/app", reader, json={"description": "no"}).status_code == 403
    created = ngc(registry, "PATCH", "/repos/fresh", json={"isPublic": True, "shortDescription": "soon"})
    assert created.status_code == 200 and created.json()["tags"] == [] and created.json()["latestTag"] is None


def test_delete_a_tag_and_a_repository(registry, pushed):
    reader = registry.add_user("reader@example.com", ["REGISTRY_READ"])
    assert ngc(registry, "DELETE", "/repos/app/images/v1", reader).status_code == 403
    assert ngc(registry, "DELETE", "/repos/app/images/v1").status_code == 200
    assert ngc(registry, "GET", "/repos/app").json()["tags"] == ["multi", "arm"]
    assert ngc(registry, "DELETE", "/repos/app/images/v1").status_code == 404
    assert ngc(registry, "DELETE", "/repos/app").status_code == 200
    assert ngc(registry, "GET", "/repos/app").status_code == 404
    assert Oci(registry, registry.admin_key).call("GET", f"/v2/{repo('app')}/tags/list").status_code == 404


def _search(registry, path: str, key, pattern: str = "*") -> dict:
    q = json.dumps({**SEARCH_Q, "query": f"resourceId:{pattern}"})
    response = registry.call("GET", f"/v2/search/{path}/resources/CONTAINER", key, params={"q": q})
    assert response.status_code == 200, response.text
    group = response.json()["results"][0]
    assert group["groupValue"] == "CONTAINER"
    return {r["resourceId"]: r for r in group["resources"]}


def test_container_search(registry, oci, pushed):
    registry.add_team("team-a")
    oci.push_image(f"{ORG}/team-a/tool", "1.0")
    oci.push_image(repo("other"), "x")
    found = _search(registry, f"org/{ORG}", registry.admin_key)
    assert sorted(found) == [repo("app"), repo("other"), f"{ORG}/team-a/tool"]
    attributes = {a["key"]: a["value"] for a in found[repo("app")]["attributes"]}
    assert attributes == {"latestTag": "multi", "size": str(config_size("amd64") + 150 + config_size("arm64") + 70)}
    assert found[repo("app")]["resourceType"] == "CONTAINER" and found[repo("app")]["name"] == "app"
    assert sorted(_search(registry, f"org/{ORG}", registry.admin_key, f"{ORG}/a*")) == [repo("app")]
    assert sorted(_search(registry, f"org/{ORG}/team/team-a", registry.admin_key)) == sorted(found)
    assert _search(registry, "catalog", registry.admin_key) == {}


def test_container_search_for_guests_and_other_orgs_shows_public_images_only(registry, pushed, oci):
    oci.push_image(repo("secret"), "1")
    registry.call("PATCH", f"/v2/org/{ORG}/repos/app", registry.admin_key, json={"isPublic": True})
    assert sorted(_search(registry, "catalog", None)) == [repo("app")]
    assert _search(registry, "subscriber/catalog", None) == {}
