"""The baselines, on this machine and in the same run: nginx (sendfile GETs, WebDAV PUTs), Debian's docker-registry
(CNCF distribution 2.8.2), curl and sha256sum. Installs nginx and docker-registry with apt-get when missing."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .common import OUT, free_port, log, run, timed, wait_port

NGINX_CONF = """
user root;
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location /files/ {{ alias {files}/; }}
        location /put/ {{ alias {put}/; dav_methods PUT; create_full_put_path on; }}
    }}
}}
"""

REGISTRY_CONF = """
version: 0.1
log: {{level: error}}
storage:
  filesystem: {{rootdirectory: {root}}}
  delete: {{enabled: true}}
http: {{addr: "127.0.0.1:{port}"}}
"""


def ensure_tools() -> None:
    """apt-get install what the bench needs and the machine lacks (nginx, docker-registry, skopeo, curl, wrk)."""
    wanted = {"nginx": "nginx", "docker-registry": "docker-registry", "skopeo": "skopeo", "curl": "curl",
              "wrk": "wrk"}
    missing = [package for tool, package in wanted.items() if not shutil.which(tool)]
    if not missing:
        return
    log(f"installing {' '.join(missing)} with apt-get")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    run(["apt-get", "update", "-qq"], env=env, timeout=600)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, timeout=900)


@dataclass
class Daemon:
    """A baseline server process on loopback."""

    name: str
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nginx(files: Path, put: Path) -> Daemon:
    """nginx serving `files` at /files/ (sendfile) and taking PUTs into `put` at /put/."""
    home, port = OUT / "nginx", free_port()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    put.mkdir(parents=True, exist_ok=True)
    conf = home / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=home, port=port, files=files, put=put))
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(home)], stdout=subprocess.DEVNULL,
                               stderr=open(home / "stderr.log", "w"))
    wait_port(port)
    return Daemon("nginx", port, process)


def start_docker_registry(root: Path) -> Daemon:
    """CNCF distribution (Debian's docker-registry) with filesystem storage in `root`, no auth."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    port = free_port()
    conf = root.parent / "docker-registry.yml"
    conf.write_text(REGISTRY_CONF.format(root=root, port=port))
    process = subprocess.Popen(["docker-registry", "serve", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=open(root.parent / "docker-registry.log", "w"))
    wait_port(port)
    return Daemon("docker-registry", port, process)


def curl_get(urls_to_paths: list[tuple[str, Path]]) -> float:
    """One curl fetching every URL in turn over one connection, each to its file; then the files made durable."""
    argv = ["curl", "-sSf"]
    for url, path in urls_to_paths:
        argv += [url, "-o", str(path)]
    return timed(argv)


def curl_put(paths_to_urls: list[tuple[Path, str]]) -> float:
    """One curl sending every file with PUT (`-T`) in turn over one connection."""
    argv = ["curl", "-sSf"]
    for path, url in paths_to_urls:
        argv += ["-T", str(path), url]
    return timed(argv)


def sha256sum(paths: list[Path]) -> float:
    return timed(["sha256sum", *map(str, paths)])


def versions() -> dict[str, str]:
    """Versions of the baseline tools, for RESULTS.md."""
    def first_line(argv: list[str]) -> str:
        done = run(argv, check=False)
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else "?"
    return {"nginx": first_line(["nginx", "-v"]), "docker-registry": first_line(["docker-registry", "--version"]),
            "skopeo": first_line(["skopeo", "--version"]), "curl": first_line(["curl", "--version"]),
            "wrk": first_line(["wrk", "--version"]), "sha256sum": first_line(["sha256sum", "--version"])}
