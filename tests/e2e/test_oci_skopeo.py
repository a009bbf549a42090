"""skopeo (from Debian) against a real server process with auth: push, inspect, list tags, copy back, delete.

Images are OCI image layouts written here (gzip'd tar layers of random bytes), so no container engine is needed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import run

pytestmark = [pytest.mark.e2e, pytest.mark.shared_registry]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


@pytest.fixture(scope="module", autouse=True)
def skopeo_installed():
    if shutil.which("skopeo"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("skopeo is not installed; .ci/run installs it (apt-get install skopeo).")
    pytest.skip("skopeo is not installed (apt-get install skopeo).")


# -- OCI image layouts ------------------------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    """An OCI image layout directory: blobs by digest, index.json naming tagged manifests, oci-layout."""

    def __init__(self, root: Path):
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def add_blob(self, data: bytes, media_type: str, **extra) -> dict:
        digest = sha256(data)
        (self.root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}

    def blob(self, digest: str) -> bytes:
        return (self.root / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    def add_image(self, layer_count: int, arch: str = "amd64") -> dict:
        tars = [random_tar(4096 + i) for i in range(layer_count)]
        layers = [self.add_blob(gzip.compress(t, mtime=0), OCI_LAYER) for t in tars]
        config = {"architecture": arch, "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]}}
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": self.add_blob(json.dumps(config).encode(), OCI_CONFIG), "layers": layers}
        return self.add_blob(json.dumps(manifest).encode(), OCI_MANIFEST)

    def add_index(self, *platforms: str) -> dict:
        children = [{**self.add_image(2, arch), "platform": {"architecture": arch, "os": "linux"}}
                    for arch in platforms]
        return self.add_blob(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode(),
                             OCI_INDEX)

    def tag(self, descriptor: dict, tag: str) -> None:
        index = self.index()
        index["manifests"].append({**descriptor, "annotations": {REF_NAME: tag}})
        (self.root / "index.json").write_text(json.dumps(index))

    def index(self) -> dict:
        path = self.root / "index.json"
        return json.loads(path.read_text()) if path.exists() else {"schemaVersion": 2, "manifests": []}

    def tagged(self, tag: str) -> dict:
        return next(m for m in self.index()["manifests"] if m.get("annotations", {}).get(REF_NAME) == tag)


def random_tar(size: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(f"file-{uuid.uuid4().hex[:6]}.bin")
        info.size, info.mtime = size, 0
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    return buffer.getvalue()


# -- skopeo ------------------------------------------------------------------------------------------------------

class Skopeo:
    def __init__(self, registry, home: Path):
        self.host = registry.url.removeprefix("http://")
        self.creds = f"$oauthtoken:{registry.admin_key}"
        auth_file = home / "auth.json"
        auth_file.write_text("{}")
        self.env = {**os.environ, "HOME": str(home), "REGISTRY_AUTH_FILE": str(auth_file),
                    "XDG_RUNTIME_DIR": str(home)}

    def __call__(self, *args: str):
        return run("skopeo", "--insecure-policy", *args, env=self.env, timeout=180)

    def ok(self, *args: str) -> str:
        done = self(*args)
        assert done.returncode == 0, f"skopeo {' '.join(args)}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        return done.stdout

    def ref(self, name: str) -> str:
        return f"docker://{self.host}/{name}"

    def push(self, layout: Layout, tag: str, name: str, *extra: str) -> str:
        return self.ok("copy", *extra, "--dest-creds", self.creds, "--dest-tls-verify=false",
                       f"oci:{layout.root}:{tag}", self.ref(name))

    def pull(self, name: str, target: Path, tag: str, *extra: str) -> str:
        return self.ok("copy", *extra, "--src-creds", self.creds, "--src-tls-verify=false", self.ref(name),
                       f"oci:{target}:{tag}")

    def inspect(self, name: str, *extra: str) -> dict:
        return json.loads(self.ok("inspect", "--creds", self.creds, "--tls-verify=false", *extra, self.ref(name)))


@pytest.fixture
def skopeo(registry, tmp_path) -> Skopeo:
    home = tmp_path / "skopeo-home"
    home.mkdir()
    return Skopeo(registry, home)


def repo(prefix: str = "img") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def admin_token(registry) -> str:
    basic = httpx.BasicAuth("$oauthtoken", registry.admin_key)
    return httpx.get(f"{registry.url}/token", params={"service": "ngc"}, auth=basic).json()["token"]


def stored_blobs(registry) -> set[str]:
    return {p.name for p in (registry.data_dir / "blobs").rglob("*") if p.is_file() and "tmp" not in p.parts}


# -- tests -------------------------------------------------------------------------------------------------------

def test_push_inspect_list_tags_copy_back_and_delete(registry, skopeo, tmp_path):
    layout = Layout(tmp_path / "src")
    image = layout.add_image(3)
    layout.tag(image, "v1")
    name = f"{registry.org}/{repo()}"
    skopeo.push(layout, "v1", f"{name}:v1")
    skopeo.push(layout, "v1", f"{name}:v2")

    inspected = skopeo.inspect(f"{name}:v1")
    assert inspected["Digest"] == image["digest"] and len(inspected["Layers"]) == 3
    assert inspected["Architecture"] == "amd64" and inspected["Os"] == "linux"
    raw = skopeo.ok("inspect", "--raw", "--creds", skopeo.creds, "--tls-verify=false", skopeo.ref(f"{name}:v2"))
    assert sha256(raw.encode()) == image["digest"]
    tags = json.loads(skopeo.ok("list-tags", "--creds", skopeo.creds, "--tls-verify=false", skopeo.ref(name)))
    assert tags == {"Repository": f"{skopeo.host}/{name}", "Tags": ["v1", "v2"]}

    by_tag, by_digest = Layout(tmp_path / "by-tag"), Layout(tmp_path / "by-digest")
    skopeo.pull(f"{name}:v1", by_tag.root, "back")
    skopeo.pull(f"{name}@{image['digest']}", by_digest.root, "back")
    for copy in (by_tag, by_digest):
        assert copy.tagged("back")["digest"] == image["digest"]
        manifest = json.loads(copy.blob(image["digest"]))
        assert all(copy.blob(layer["digest"]) == layout.blob(layer["digest"]) for layer in manifest["layers"])

    skopeo.ok("delete", "--creds", skopeo.creds, "--tls-verify=false", skopeo.ref(f"{name}:v1"))
    gone = skopeo("inspect", "--creds", skopeo.creds, "--tls-verify=false", skopeo.ref(f"{name}:v2"))
    assert gone.returncode != 0 and "manifest unknown" in gone.stderr.lower()


def test_two_platform_index_round_trips_digest_for_digest(registry, skopeo, tmp_path):
    layout = Layout(tmp_path / "src")
    index = layout.add_index("amd64", "arm64")
    layout.tag(index, "multi")
    name = f"{registry.org}/{repo('multi')}"
    skopeo.push(layout, "multi", f"{name}:multi", "--all", "--preserve-digests")

    raw = skopeo.ok("inspect", "--raw", "--creds", skopeo.creds, "--tls-verify=false", skopeo.ref(f"{name}:multi"))
    assert sha256(raw.encode()) == index["digest"]
    back = Layout(tmp_path / "back")
    skopeo.pull(f"{name}:multi", back.root, "multi", "--all", "--preserve-digests")
    assert back.tagged("multi")["digest"] == index["digest"]
    children = json.loads(back.blob(index["digest"]))["manifests"]
    assert [c["platform"]["architecture"] for c in children] == ["amd64", "arm64"]
    for child in children:
        manifest = json.loads(back.blob(child["digest"]))
        assert back.blob(child["digest"]) == layout.blob(child["digest"])
        for blob in [manifest["config"], *manifest["layers"]]:
            assert back.blob(blob["digest"]) == layout.blob(blob["digest"])
    arm = skopeo.inspect(f"{name}:multi", "--override-arch", "arm64")
    assert arm["Architecture"] == "arm64"


def test_anonymous_pull_of_public_works_and_of_private_does_not(registry, skopeo, tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.add_image(1), "v1")
    public, private = f"{registry.org}/{repo('public')}", f"{registry.org}/{repo('private')}"
    for name in (public, private):
        skopeo.push(layout, "v1", f"{name}:v1")
    made_public = httpx.patch(f"{registry.url}/v2/org/{public.replace('/', '/repos/', 1)}", json={"isPublic": True},
                              headers={"Authorization": f"Bearer {admin_token(registry)}"})
    assert made_public.status_code == 200 and made_public.json()["isPublic"] is True

    anonymous = Layout(tmp_path / "anonymous")
    skopeo.ok("copy", "--src-no-creds", "--src-tls-verify=false", skopeo.ref(f"{public}:v1"),
              f"oci:{anonymous.root}:v1")
    assert anonymous.tagged("v1")["digest"] == layout.tagged("v1")["digest"]
    refused = skopeo("inspect", "--no-creds", "--tls-verify=false", skopeo.ref(f"{private}:v1"))
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "authentication required" in refused.stderr.lower()
    pushed_anonymously = skopeo("copy", "--dest-no-creds", "--dest-tls-verify=false", f"oci:{layout.root}:v1",
                                skopeo.ref(f"{public}:anonymous"))
    assert pushed_anonymously.returncode != 0


def test_pushing_an_image_again_mounts_its_layers_and_stores_no_bytes_twice(registry, skopeo, tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.add_image(2), "v1")
    first, second = f"{registry.org}/{repo('first')}", f"{registry.org}/{repo('second')}"
    skopeo.push(layout, "v1", f"{first}:v1")
    before = stored_blobs(registry)
    skopeo.push(layout, "v1", f"{second}:v1")
    assert stored_blobs(registry) == before
    mounted = [line for line in registry.log.read_text().splitlines()
               if f'"POST /v2/{second}/blobs/uploads/" 201' in line]
    assert len(mounted) == 2  # both layers came from the first repository (skopeo's blob cache knows them)
