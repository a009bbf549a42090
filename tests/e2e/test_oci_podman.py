"""podman and buildah (from Debian) against a real server process, with `$oauthtoken` and an API key (issue 4).

Images are built without a network or a container runtime: `buildah from scratch`, `buildah copy`, `buildah commit`.
Each `Engine` is its own machine: vfs storage, run and temp directories, auth file and containers.conf under a temp
directory, so nothing here touches the host's images or logins (only containers/image's blob-info cache, which is
per host for root, is shared: it holds hints, and a stale hint costs one HEAD request).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import init_registry, run, start_server
from .test_cli_identity import ok, unique

pytestmark = pytest.mark.e2e

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = f"{OCI_MANIFEST}, {OCI_INDEX}, {DOCKER_MANIFEST}, {DOCKER_LIST}"


# -- engines -----------------------------------------------------------------------------------------------------

class Engine:
    """podman and buildah with their own storage (vfs unless asked), runtime directories, configuration, logins."""

    def __init__(self, root: Path, driver: str = "vfs", partial_pulls: bool = False):
        self.root = root
        for sub in ("home", "config", "run", "tmp", "storage", "runroot", "volumes", "networks"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        options = '[storage.options]\npull_options = {enable_partial_images = "true", use_hard_links = "false"}\n'
        (root / "storage.conf").write_text(
            f'[storage]\ndriver = "{driver}"\ngraphroot = "{root / "storage"}"\nrunroot = "{root / "runroot"}"\n'
            + (options if partial_pulls else ""))
        (root / "containers.conf").write_text(
            f'[engine]\ntmp_dir = "{root / "tmp"}"\nvolume_path = "{root / "volumes"}"\n'
            f'events_logger = "none"\ncgroup_manager = "cgroupfs"\n'
            f'[network]\nnetwork_config_dir = "{root / "networks"}"\n')
        (root / "registries.conf").write_text("")  # fully qualified names only: no search registries, no mirrors
        self.auth_file = root / "auth.json"
        self.auth_file.write_text("{}")
        self.env = {**os.environ, "HOME": str(root / "home"), "XDG_CONFIG_HOME": str(root / "config"),
                    "XDG_RUNTIME_DIR": str(root / "run"), "TMPDIR": str(root / "tmp"),
                    "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
                    "CONTAINERS_CONF": str(root / "containers.conf"),
                    "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
                    "REGISTRY_AUTH_FILE": str(self.auth_file)}
        self.env.pop("STORAGE_DRIVER", None)
        self.env.pop("STORAGE_OPTS", None)

    def __call__(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        return run(tool, *args, env=self.env, timeout=180)

    def ok(self, tool: str, *args: str) -> str:
        done = self(tool, *args)
        assert done.returncode == 0, f"{tool} {' '.join(args)}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        return done.stdout

    def build(self, image: str, files: dict[str, bytes], *config: str, arch: str | None = None,
              base: str = "scratch") -> str:
        """`buildah from <base>`, copy the files in (one new layer), `buildah config`, commit; returns the image ID."""
        container = self.ok("buildah", "from", "--pull-never", base).strip().splitlines()[-1]
        source = self.root / f"src-{uuid.uuid4().hex[:8]}"
        source.mkdir()
        for name, data in files.items():
            (source / name).write_bytes(data)
            self.ok("buildah", "copy", container, str(source / name), f"/{name}")
        if arch:
            config = (*config, "--arch", arch, "--os", "linux")
        if config:
            self.ok("buildah", "config", *config, container)
        image_id = self.ok("buildah", "commit", "--quiet", "--rm", container, image).strip()
        return image_id

    def inspect(self, image: str) -> dict:
        return json.loads(self.ok("podman", "image", "inspect", image))[0]

    def file_in(self, image: str, path: str) -> bytes:
        """A file's bytes in an image's root filesystem (`buildah mount`; `buildah rm` unmounts it)."""
        container = self.ok("buildah", "from", "--pull-never", image).strip().splitlines()[-1]
        try:
            mount = Path(self.ok("buildah", "mount", container).strip())
            return (mount / path.lstrip("/")).read_bytes()
        finally:
            self("buildah", "rm", container)


class _Unusable(Exception):
    pass


def _probe(root: Path) -> str | None:
    """Why podman and buildah cannot work on this machine (in their own words), or None when they can."""
    engine = Engine(root)

    def attempt(tool: str, *args: str) -> str:
        done = engine(tool, *args)
        if done.returncode != 0:
            error = (done.stderr or done.stdout).strip()[-800:]
            raise _Unusable(f"`{tool} {' '.join(args)}` fails on this machine: {error}")
        return done.stdout.strip()

    try:
        container = attempt("buildah", "from", "scratch").splitlines()[-1]
        attempt("buildah", "commit", "--quiet", "--rm", container, "localhost/probe:v1")
        attempt("podman", "image", "exists", "localhost/probe:v1")
    except _Unusable as unusable:
        return str(unusable)
    return None


def cannot_run(reason: str) -> None:
    """CI's machines are of the kind where podman and buildah run (as root, vfs and overlay): there, fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module", autouse=True)
def engines_work(tmp_path_factory):
    missing = " and ".join(tool for tool in ("podman", "buildah") if not shutil.which(tool))
    if missing:
        cannot_run(f"{missing} not installed: apt-get install podman buildah (.ci/run does).")
    reason = _probe(tmp_path_factory.mktemp("probe"))  # installed, but cannot build even a scratch image
    if reason:
        cannot_run(reason)


@pytest.fixture
def engines(tmp_path):
    """New machines by name: `engines("builder")`, `engines("puller", driver="overlay", partial_pulls=True)`."""
    made: dict[str, Engine] = {}

    def make(name: str, **storage) -> Engine:
        if name not in made:
            made[name] = Engine(tmp_path / name, **storage)
        return made[name]

    return make


# -- the registry's side -----------------------------------------------------------------------------------------

def host_of(registry) -> str:
    return registry.url.removeprefix("http://")


def creds(key: str) -> str:
    return f"$oauthtoken:{key}"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_digest(path: Path) -> str:
    return path.read_text().strip()


def token_for(registry, name: str | None, key: str) -> str:
    """A docker token with `pull` on one repository, or (no name) an NGC API token."""
    basic = httpx.BasicAuth("$oauthtoken", key)
    scope = {"scope": f"repository:{name}:pull"} if name else {}
    response = httpx.get(f"{registry.url}/token", auth=basic, params={"service": host_of(registry), **scope})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def registry_manifest(registry, name: str, reference: str, key: str | None = None) -> tuple[str, str, dict]:
    """(digest, media type, document) as the registry serves them; HEAD and GET must agree."""
    headers = {"Authorization": f"Bearer {token_for(registry, name, key or registry.admin_key)}", "Accept": ACCEPT}
    url = f"{registry.url}/v2/{name}/manifests/{reference}"
    head, got = httpx.head(url, headers=headers), httpx.get(url, headers=headers)
    assert head.status_code == got.status_code == 200, got.text
    digest = got.headers["docker-content-digest"]
    assert head.headers["docker-content-digest"] == digest == sha256(got.content)
    assert int(head.headers["content-length"]) == len(got.content)
    return digest, got.headers["content-type"].split(";")[0], got.json()


def blob_ranges(registry, name: str, digest: str, ranges: str) -> tuple[httpx.Response, list[tuple[str, bytes]]]:
    """GET a blob with `Range: bytes=<ranges>`: the response and its multipart parts as (Content-Range, bytes)."""
    headers = {"Authorization": f"Bearer {token_for(registry, name, registry.admin_key)}", "Range": f"bytes={ranges}"}
    response = httpx.get(f"{registry.url}/v2/{name}/blobs/{digest}", headers=headers)
    if not response.headers["content-type"].startswith("multipart/byteranges"):
        return response, []
    boundary = response.headers["content-type"].split("boundary=", 1)[1].encode()
    parts = []
    for segment in response.content.split(b"--" + boundary)[1:-1]:
        head, _, data = segment.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n") if b": " in line)
        parts.append((fields[b"Content-Range"].decode(), data.removesuffix(b"\r\n")))
    return response, parts


def access_log(registry) -> str:
    return registry.log.read_text()


def login(engine: Engine, registry, key: str) -> None:
    out = engine.ok("podman", "login", host_of(registry), "-u", "$oauthtoken", "-p", key, "--tls-verify=false")
    assert "Login Succeeded" in out
    assert host_of(registry) in json.loads(engine.auth_file.read_text())["auths"]


def repo(registry, prefix: str, team: str | None = None) -> str:
    return "/".join([registry.org, *([team] if team else []), unique(prefix)])


@pytest.fixture
def team_member(ngc, registry):
    """A new team and a REGISTRY_WRITE_USER_ROLE member of it: (team, API key)."""
    team, email = unique("pods"), f"{unique('podder')}@example.com"
    ok(ngc("org", "add-team", team, "Podman team", "--org", registry.org, key=registry.admin_key))
    ok(ngc("org", "add-user", email, "Podder", "--team", team, "--role", "REGISTRY_WRITE_USER_ROLE",
           "--org", registry.org, key=registry.admin_key))
    return team, registry.new_key(email)


@pytest.fixture
def reader_key(ngc, registry):
    email = f"{unique('reader')}@example.com"
    ok(ngc("org", "add-user", email, "Reader", "--role", "REGISTRY_READ", "--org", registry.org,
           key=registry.admin_key))
    return registry.new_key(email)


# -- tests -------------------------------------------------------------------------------------------------------

def test_buildah_pushes_then_podman_and_buildah_pull_byte_for_byte(registry, engines):
    host, name = host_of(registry), repo(registry, "pod")
    payload, note = os.urandom(3 * 1024 * 1024 + 17), b"hello from buildah\n"  # several 1 MiB writes server-side
    builder = engines("builder")
    builder.build("localhost/payload:v1", {"payload.bin": payload})
    image_id = builder.build("localhost/tiny:v1", {"note.txt": note}, "--cmd", '["/note.txt"]', "--label", "issue=4",
                             "--env", "GREETING=hi", base="localhost/payload:v1")
    builder.ok("buildah", "push", "--creds", creds(registry.admin_key), "--tls-verify=false",
               "--digestfile", str(builder.root / "pushed"), "localhost/tiny:v1", f"docker://{host}/{name}:v1")
    pushed = read_digest(builder.root / "pushed")

    digest, media_type, manifest = registry_manifest(registry, name, "v1")
    assert digest == pushed and media_type == OCI_MANIFEST
    assert manifest["config"]["digest"] == f"sha256:{image_id}" and len(manifest["layers"]) == 2
    assert registry_manifest(registry, name, pushed)[0] == pushed

    puller = engines("puller")
    login(puller, registry, registry.admin_key)
    puller.ok("podman", "pull", "--tls-verify=false", f"{host}/{name}:v1")
    pulled = puller.inspect(f"{host}/{name}:v1")
    assert pulled["Id"] == image_id and pulled["Digest"] == pushed
    assert f"{host}/{name}@{pushed}" in pulled["RepoDigests"]
    assert pulled["Config"]["Cmd"] == ["/note.txt"] and pulled["Labels"]["issue"] == "4"
    assert "GREETING=hi" in pulled["Config"]["Env"]
    assert puller.file_in(f"{host}/{name}:v1", "/payload.bin") == payload
    assert puller.file_in(f"{host}/{name}:v1", "/note.txt") == note

    # podman push of what it pulled, to a second repository: layers mounted from the first, same manifest bytes.
    copy = repo(registry, "pod-copy")
    puller.ok("podman", "tag", f"{host}/{name}:v1", f"{host}/{copy}:v2")
    puller.ok("podman", "push", "--tls-verify=false", "--digestfile", str(puller.root / "copied"), f"{host}/{copy}:v2")
    assert read_digest(puller.root / "copied") == pushed == registry_manifest(registry, copy, "v2")[0]
    assert f'"POST /v2/{copy}/blobs/uploads/" 201' in access_log(registry)  # a cross-repository mount

    # buildah pull, by digest, on a third machine that never logged in (--creds only).
    third = engines("third")
    third.ok("buildah", "pull", "--creds", creds(registry.admin_key), "--tls-verify=false", f"{host}/{copy}@{pushed}")
    assert third.inspect(f"{host}/{copy}@{pushed}")["Id"] == image_id
    assert third.file_in(f"{host}/{copy}@{pushed}", "/note.txt") == note


def test_podman_pushes_docker_format_to_a_team_repository_with_a_members_key(registry, engines, team_member):
    team, key = team_member
    host, name = host_of(registry), repo(registry, "team-img", team)
    machine = engines("member")
    image_id = machine.build("localhost/team:v1", {"data.bin": os.urandom(50_000)}, "--cmd", '["/data.bin"]')
    login(machine, registry, key)
    machine.ok("podman", "tag", "localhost/team:v1", f"{host}/{name}:v1")
    machine.ok("podman", "push", "--tls-verify=false", "--format", "v2s2", "--digestfile", str(machine.root / "d"),
               f"{host}/{name}:v1")
    pushed = read_digest(machine.root / "d")
    digest, media_type, manifest = registry_manifest(registry, name, "v1", key)
    assert digest == pushed and media_type == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"

    # The same image under a second tag: the same manifest, so the same digest.
    machine.ok("podman", "push", "--tls-verify=false", "--format", "v2s2", f"{host}/{name}:v1", f"{host}/{name}:v1.1")
    assert registry_manifest(registry, name, "v1.1", key)[0] == pushed

    elsewhere = engines("elsewhere")
    login(elsewhere, registry, key)
    elsewhere.ok("podman", "pull", "--tls-verify=false", f"{host}/{name}:v1.1")
    pulled = elsewhere.inspect(f"{host}/{name}:v1.1")
    assert pulled["Id"] == image_id and pulled["ManifestType"] == DOCKER_MANIFEST
    assert f"{host}/{name}@{pushed}" in pulled["RepoDigests"]

    # The member's role stops at the team: an org-level repository refuses the push and ends up with nothing.
    outside = repo(registry, "outside")
    machine.ok("podman", "tag", "localhost/team:v1", f"{host}/{outside}:v1")
    refused = machine("podman", "push", "--tls-verify=false", f"{host}/{outside}:v1")
    assert refused.returncode != 0
    assert "403" in refused.stderr or "denied" in refused.stderr.lower(), refused.stderr
    tags = httpx.get(f"{registry.url}/v2/{outside}/tags/list",
                     headers={"Authorization": f"Bearer {token_for(registry, outside, registry.admin_key)}"})
    assert tags.status_code == 404 and tags.json()["errors"][0]["code"] == "NAME_UNKNOWN"


@pytest.mark.parametrize("list_format, media_type", [("oci", OCI_INDEX), ("v2s2", DOCKER_LIST)], ids=["oci", "v2s2"])
def test_buildah_manifest_push_all_then_podman_pulls_each_architecture(registry, engines, list_format, media_type):
    host, name = host_of(registry), repo(registry, "multi")
    builder = engines("builder")
    ids = {arch: builder.build(f"localhost/multi-{arch}:v1", {"arch.txt": arch.encode()}, arch=arch)
           for arch in ("amd64", "arm64")}
    builder.ok("buildah", "manifest", "create", "localhost/multi:v1")
    for arch in ids:
        builder.ok("buildah", "manifest", "add", "localhost/multi:v1", f"containers-storage:localhost/multi-{arch}:v1")
    builder.ok("buildah", "manifest", "push", "--all", "--format", list_format, "--creds", creds(registry.admin_key),
               "--tls-verify=false", "--digestfile", str(builder.root / "index"), "localhost/multi:v1",
               f"docker://{host}/{name}:v1")
    index_digest = read_digest(builder.root / "index")

    digest, served_type, index = registry_manifest(registry, name, "v1")
    assert digest == index_digest and served_type == media_type
    children = {child["platform"]["architecture"]: child["digest"] for child in index["manifests"]}
    assert sorted(children) == ["amd64", "arm64"]

    for arch, image_id in ids.items():
        machine = engines(f"pull-{arch}")
        login(machine, registry, registry.admin_key)
        machine.ok("podman", "pull", "--tls-verify=false", "--arch", arch, f"{host}/{name}:v1")
        pulled = machine.inspect(f"{host}/{name}:v1")
        assert pulled["Architecture"] == arch and pulled["Id"] == image_id
        assert {f"{host}/{name}@{children[arch]}", f"{host}/{name}@{index_digest}"} <= set(pulled["RepoDigests"])
        assert machine.file_in(f"{host}/{name}:v1", "/arch.txt") == arch.encode()


def test_buildah_build_from_a_base_in_the_registry_and_push_reuses_its_layer(registry, engines):
    host, base, app = host_of(registry), repo(registry, "base"), repo(registry, "app")
    first = engines("first")
    first.build("localhost/base:v1", {"base.txt": os.urandom(20_000)})
    first.ok("buildah", "push", "--creds", creds(registry.admin_key), "--tls-verify=false", "localhost/base:v1",
             f"docker://{host}/{base}:v1")
    base_layer = registry_manifest(registry, base, "v1")[2]["layers"][0]["digest"]

    second = engines("second")
    context = second.root / "context"
    context.mkdir()
    (context / "app.txt").write_text("the app\n")
    (context / "Containerfile").write_text(f'FROM {host}/{base}:v1\nCOPY app.txt /app.txt\nCMD ["/app.txt"]\n')
    second.ok("buildah", "build", "--creds", creds(registry.admin_key), "--tls-verify=false", "--layers=false",
              "-t", "localhost/app:v1", str(context))
    second.ok("buildah", "push", "--creds", creds(registry.admin_key), "--tls-verify=false",
              "--digestfile", str(second.root / "app"), "localhost/app:v1", f"docker://{host}/{app}:v1")
    digest, _, manifest = registry_manifest(registry, app, "v1")
    assert digest == read_digest(second.root / "app")
    assert len(manifest["layers"]) == 2 and manifest["layers"][0]["digest"] == base_layer
    assert f'"POST /v2/{app}/blobs/uploads/" 201' in access_log(registry)  # the base layer was mounted

    third = engines("third")
    login(third, registry, registry.admin_key)
    third.ok("podman", "pull", "--tls-verify=false", f"{host}/{app}:v1")
    assert third.file_in(f"{host}/{app}:v1", "/app.txt") == b"the app\n"
    assert third.inspect(f"{host}/{app}:v1")["Config"]["Cmd"] == ["/app.txt"]


def test_logins_roles_and_anonymous_pulls(registry, engines, reader_key):
    host, private, public = host_of(registry), repo(registry, "private"), repo(registry, "public")
    builder = engines("builder")
    builder.build("localhost/img:v1", {"x.txt": b"x\n"})
    for name in (private, public):
        builder.ok("buildah", "push", "--creds", creds(registry.admin_key), "--tls-verify=false", "localhost/img:v1",
                   f"docker://{host}/{name}:v1")
    token = token_for(registry, None, registry.admin_key)
    made_public = httpx.patch(f"{registry.url}/v2/org/{public.replace('/', '/repos/', 1)}",
                              json={"isPublic": True}, headers={"Authorization": f"Bearer {token}"})
    assert made_public.status_code == 200, made_public.text

    nobody = engines("nobody")
    bad = nobody("podman", "login", host, "-u", "$oauthtoken", "-p", "ngcr_not-a-key", "--tls-verify=false")
    assert bad.returncode != 0 and "invalid username/password" in bad.stderr, bad.stderr
    assert json.loads(nobody.auth_file.read_text()) == {}
    nobody.ok("podman", "pull", "--tls-verify=false", f"{host}/{public}:v1")
    refused = nobody("podman", "pull", "--tls-verify=false", f"{host}/{private}:v1")
    assert refused.returncode != 0 and "unauthorized" in refused.stderr.lower(), refused.stderr

    reader = engines("reader")
    login(reader, registry, reader_key)
    reader.ok("podman", "pull", "--tls-verify=false", f"{host}/{private}:v1")
    reader.ok("podman", "tag", f"{host}/{private}:v1", f"{host}/{private}:mine")
    denied = reader("podman", "push", "--tls-verify=false", f"{host}/{private}:mine")
    assert denied.returncode != 0 and "denied" in denied.stderr.lower(), denied.stderr

    # podman search: /v2/_catalog filtered by the term, and a repository's tags.
    assert f"{host}/{private}" in reader.ok("podman", "search", "--tls-verify=false", f"{host}/{private}")
    listed = reader.ok("podman", "search", "--tls-verify=false", "--list-tags", f"{host}/{private}")
    assert listed.split() == ["NAME", "TAG", f"{host}/{private}", "v1"]

    reader.ok("podman", "logout", host)
    assert reader("podman", "pull", "--tls-verify=false", f"{host}/{private}:v1").returncode != 0


def test_zstd_chunked_push_then_a_partial_pull_by_range_requests(registry, engines):
    """podman's partial pulls (overlay storage) fetch zstd:chunked layers in HTTP ranges, several per request."""
    host, name = host_of(registry), repo(registry, "chunked")
    files = {f"part-{i}.bin": os.urandom(40_000 + i) for i in range(6)}
    builder = engines("builder")
    builder.build("localhost/chunked:v1", files)
    builder.ok("podman", "push", "--tls-verify=false", "--creds", creds(registry.admin_key), "--compression-format",
               "zstd:chunked", "--digestfile", str(builder.root / "d"), "localhost/chunked:v1", f"{host}/{name}:v1")
    pushed = read_digest(builder.root / "d")
    digest, _, manifest = registry_manifest(registry, name, "v1")
    [layer] = manifest["layers"]
    assert digest == pushed and layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert "io.containers.zstd-chunked.manifest-checksum" in layer["annotations"]

    puller = engines("partial", driver="overlay", partial_pulls=True)
    driver = puller("podman", "info", "--format", "{{.Store.GraphDriverName}}")
    if driver.returncode != 0 or driver.stdout.strip() != "overlay":
        cannot_run(f"overlay storage does not work on this machine: {(driver.stderr or driver.stdout).strip()[-800:]}")
    login(puller, registry, registry.admin_key)
    pulled = puller("podman", "--log-level", "debug", "pull", "--tls-verify=false", f"{host}/{name}:v1")
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    # One part per file, adjacent ranges included; fewer parts (merged ranges) made podman fall back to a full pull.
    assert "Failed to retrieve partial blob" not in pulled.stderr, pulled.stderr[-3000:]
    assert f"Retrieved partial blob {layer['digest']}" in pulled.stderr
    fetch = f'"GET /v2/{name}/blobs/{layer["digest"]}"'
    fetches = [line.split(fetch, 1)[1].split()[0] for line in access_log(registry).splitlines() if fetch in line]
    assert fetches and set(fetches) == {"206"}, fetches  # never the whole layer
    assert puller.inspect(f"{host}/{name}:v1")["Digest"] == pushed
    for file_name, data in files.items():
        assert puller.file_in(f"{host}/{name}:v1", file_name) == data

    # The same over plain HTTP: parts in the order asked, adjacent and repeated ranges kept apart.
    blob = blob_ranges(registry, name, layer["digest"], "0-")[0].content
    assert len(blob) == layer["size"] and sha256(blob) == layer["digest"]
    response, parts = blob_ranges(registry, name, layer["digest"], "100-199,0-99,200-209,5-6")
    assert response.status_code == 206
    asked = ((100, 199), (0, 99), (200, 209), (5, 6))
    assert parts == [(f"bytes {a}-{b}/{len(blob)}", blob[a:b + 1]) for a, b in asked]
    assert blob_ranges(registry, name, layer["digest"], "0-,0-")[0].status_code == 200  # more than the blob: all of it


def test_podman_and_buildah_over_https_check_the_registry_certificate(tmp_path, engines):
    """As deployed: TLS, no --tls-verify=false; the registry's CA in a --cert-dir (ca.crt), as podman documents."""
    certs = tmp_path / "certs"
    certs.mkdir()
    cert, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key_file), "-out", str(cert))
    assert made.returncode == 0, made.stderr
    (certs / "ca.crt").write_bytes(cert.read_bytes())
    data_dir = tmp_path / "tls-registry" / "data"
    admin_key = init_registry(data_dir)
    server = start_server(data_dir, admin_key, "--tls-cert", str(cert), "--tls-key", str(key_file), scheme="https")
    try:
        host, name = server.url.removeprefix("https://"), f"{server.org}/{unique('tls')}"
        builder = engines("tls-builder")
        builder.build("localhost/tls:v1", {"tls.txt": b"over tls\n"})
        untrusted = builder("buildah", "push", "--creds", creds(admin_key), "localhost/tls:v1",
                            f"docker://{host}/{name}:v1")
        assert untrusted.returncode != 0 and "certificate signed by unknown authority" in untrusted.stderr
        builder.ok("buildah", "push", "--cert-dir", str(certs), "--creds", creds(admin_key),
                   "--digestfile", str(builder.root / "d"), "localhost/tls:v1", f"docker://{host}/{name}:v1")

        puller = engines("tls-puller")
        puller.ok("podman", "login", "--cert-dir", str(certs), host, "-u", "$oauthtoken", "-p", admin_key)
        assert puller("podman", "pull", f"{host}/{name}:v1").returncode != 0
        puller.ok("podman", "pull", "--cert-dir", str(certs), f"{host}/{name}:v1")
        assert puller.inspect(f"{host}/{name}:v1")["Digest"] == read_digest(builder.root / "d")
        assert puller.file_in(f"{host}/{name}:v1", "/tls.txt") == b"over tls\n"
        assert "Invalid HTTP request" not in server.log.read_text()  # nothing fell back to plain HTTP
    finally:
        server.stop()
