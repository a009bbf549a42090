"""Three `ngc-registry serve` replicas on one PostgreSQL database and one data dir, behind nginx round robin: a
model upload and download with the real `ngc` (1 MB parts, so parts land on different replicas), a skopeo push
and pull, and an OCI chunked upload whose chunks each reach the next replica."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from ..postgres import new_database, postgres_url  # noqa: F401  (fixture)
from .conftest import free_port, start_server
from .ops_support import MB, Content, init_with, need, registry_at

pytestmark = pytest.mark.e2e

NGINX = "/usr/sbin/nginx"
NGINX_CONF = """
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 512; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 0;
    upstream replicas {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground with everything under `root`, sending each request to the next upstream."""

    def __init__(self, root: Path, upstreams: list[str]):
        root.mkdir(parents=True)
        self.port = free_port()
        servers = "\n".join(f"        server {upstream.removeprefix('http://')};" for upstream in upstreams)
        user = "user root;" if os.geteuid() == 0 else ""
        (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, servers=servers, port=self.port, user=user))
        self.process = subprocess.Popen([NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=(root / "stderr.log").open("w"))
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait(root)

    def _wait(self, root: Path) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (root / "stderr.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, postgres_url):  # noqa: F811
    need(NGINX, "nginx")
    need("skopeo", "skopeo")
    work = tmp_path_factory.mktemp("replicas")
    data_dir, database = work / "data", ["--database-url", new_database(postgres_url)]
    key = init_with(data_dir, *database)
    servers = [start_server(data_dir, key, *database, env={"NGC_REGISTRY_PART_SIZE": str(MB)}) for _ in range(3)]
    proxy = Nginx(work / "nginx", [server.url for server in servers])
    yield registry_at(proxy.url, key), servers, work
    proxy.stop()
    for server in servers:
        server.stop()


def _requests(server, pattern: str) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if re.search(pattern, line)]


def test_a_model_and_an_image_through_three_replicas(replicas):
    registry, servers, work = replicas
    content = Content(work / "content")
    content.put(registry)
    content.check(registry, "through-proxy")
    part_puts = [len(_requests(server, r'"PUT /_storage/<signed>" 200')) for server in servers]
    assert sum(part_puts) >= 4 and sum(1 for count in part_puts if count) >= 2, part_puts
    for server in servers:
        assert _requests(server, r'"(GET|HEAD|PUT|POST|PATCH) /v2/nvidia/ops-image/'), server.log.read_text()
        assert _requests(server, r'"(GET|POST|PUT|PATCH) /v2/org/nvidia/'), server.log.read_text()


def _basic(key: str) -> httpx.BasicAuth:
    return httpx.BasicAuth("$oauthtoken", key)


def test_an_oci_chunked_upload_continues_on_the_next_replica(replicas):
    registry, servers, _ = replicas
    name, blob = "nvidia/chunked", os.urandom(3 * MB + 17)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    with httpx.Client(base_url=registry.url, auth=_basic(registry.admin_key), timeout=60) as client:
        location = client.post(f"/v2/{name}/blobs/uploads/").headers["Location"]
        for start in range(0, len(blob), MB):
            chunk = blob[start:start + MB]
            sent = client.patch(location, content=chunk,
                                headers={"Content-Range": f"{start}-{start + len(chunk) - 1}"})
            assert sent.status_code == 202, sent.text
            location = sent.headers["Location"]
        assert client.put(location, params={"digest": digest}).status_code == 201
        assert client.get(f"/v2/{name}/blobs/{digest}").content == blob
    upload_id = location.rsplit("/", 1)[1]
    served_by = [server for server in servers if _requests(server, upload_id)]
    assert len(served_by) == 3, "each replica should have taken part in the same upload session"
