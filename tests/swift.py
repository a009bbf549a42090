"""A real S3-compatible store for tests: a single-node OpenStack Swift 2.38.3 with s3api, plus memcached.

Laid out as ../shared/reference/s3-swift.md describes: config and rings in a temporary directory, each server in
its own session (a Swift server's SIGTERM handler signals its whole process group), five consecutive ports of
its own, ready once every server answers /healthcheck, stopped by PID. Nothing is installed here: `.ci/run`
puts Swift into a venv (`$S3_SWIFT_VENV`, default /opt/ngc-swift-venv) and memcached from Debian.
Without them the S3 variants are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

SWIFT_VENV = Path(os.environ.get("S3_SWIFT_VENV", "/opt/ngc-swift-venv"))
ACCESS_KEY, SECRET_KEY = "test:tester", "testing"
SERVERS = ("proxy", "account", "container", "object")
_PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit s3api "
             "tempauth copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging "
             "proxy-server")
_FILTERS = {"catch_errors": "catch_errors", "gatekeeper": "gatekeeper", "healthcheck": "healthcheck",
            "proxy-logging": "proxy_logging", "listing_formats": "listing_formats", "bulk": "bulk",
            "tempurl": "tempurl", "ratelimit": "ratelimit", "copy": "copy", "container-quotas": "container_quotas",
            "account-quotas": "account_quotas", "dlo": "dlo", "symlink": "symlink"}


def missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"Swift (S3) is required in CI: {reason}; .ci/run installs it")
    pytest.skip(reason)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int = 5) -> int:
    for _ in range(200):
        base = random.randrange(20000, 60000 - count)
        if all(_port_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError("no run of free ports for Swift")


def _server_conf(root: Path, port: int, kind: str) -> str:
    return (f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\ndevices = {root}/srv\nmount_check = false\n"
            f"swift_dir = {root}/etc\nuser = {_user()}\nworkers = 1\n"
            f"log_udp_host = 127.0.0.1\n\n[pipeline:main]\npipeline = healthcheck {kind}-server\n\n"
            f"[app:{kind}-server]\nuse = egg:swift#{kind}\n\n[filter:healthcheck]\nuse = egg:swift#healthcheck\n")


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _proxy_conf(root: Path, port: int) -> str:
    filters = "".join(f"[filter:{name}]\nuse = egg:swift#{egg}\n\n" for name, egg in _FILTERS.items())
    return (f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\nswift_dir = {root}/etc\nuser = {_user()}\n"
            f"workers = 1\nlog_udp_host = 127.0.0.1\n\n[pipeline:main]\npipeline = {_PIPELINE}\n\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
            "allow_account_management = true\n\n"
            f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{port + 4}\n\n"
            "[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\nmax_upload_part_num = 10000\n\n"
            "[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n\n"
            "[filter:slo]\nuse = egg:swift#slo\nmax_manifest_segments = 10000\nrate_limit_segments_per_sec = 0\n\n"
            "[filter:versioned_writes]\nuse = egg:swift#versioned_writes\nallow_object_versioning = true\n\n"
            + filters)


_RINGS = """
import sys
from swift.common.ring import RingBuilder
root, base = sys.argv[1], int(sys.argv[2])
for offset, kind in ((1, "account"), (2, "container"), (3, "object")):
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": base + offset, "device": "d1",
                     "weight": 100})
    builder.rebalance()
    builder.get_ring().save(f"{root}/etc/{kind}.ring.gz")
"""


def _write_config(root: Path, port: int) -> None:
    (root / "etc").mkdir(parents=True)
    (root / "srv" / "d1").mkdir(parents=True)
    (root / "log").mkdir()
    (root / "etc" / "swift.conf").write_text(
        "[swift-hash]\nswift_hash_path_suffix = ngc-tests\nswift_hash_path_prefix = ngc\n\n"
        "[storage-policy:0]\nname = Policy-0\ndefault = yes\n")
    for offset, kind in ((1, "account"), (2, "container"), (3, "object")):
        (root / "etc" / f"{kind}-server.conf").write_text(_server_conf(root, port + offset, kind))
    (root / "etc" / "proxy-server.conf").write_text(_proxy_conf(root, port))
    subprocess.run([str(SWIFT_VENV / "bin" / "python"), "-c", _RINGS, str(root), str(port)], check=True,
                   capture_output=True)


def _check_xattrs(root: Path) -> None:
    probe = root / "xattr-probe"
    probe.touch()
    try:
        os.setxattr(probe, "user.probe", b"x" * 2048)
    except OSError as error:
        missing(f"the filesystem of {root} lacks user xattrs, which Swift needs: {error}")
    finally:
        probe.unlink()


@dataclass
class Swift:
    root: Path
    port: int
    processes: list[subprocess.Popen]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))

    def new_bucket(self) -> str:
        name = "t-" + uuid.uuid4().hex[:20]
        self.client().create_bucket(Bucket=name)
        return name

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point a process at this Swift."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1"}

    def _start(self, argv: list[str], log: str) -> None:
        with open(self.root / "log" / log, "wb") as output:
            self.processes.append(subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT,
                                                   stdin=subprocess.DEVNULL, start_new_session=True))

    def start(self) -> None:
        self._start([shutil.which("memcached") or "memcached", "-l", "127.0.0.1", "-p", str(self.port + 4),
                     "-U", "0", "-m", "64", *(["-u", "root"] if os.geteuid() == 0 else [])], "memcached.log")
        for kind in SERVERS:
            self._start([str(SWIFT_VENV / "bin" / f"swift-{kind}-server"),
                         str(self.root / "etc" / f"{kind}-server.conf"), "--verbose"], f"{kind}.log")
        self._wait_ready()

    def _logs(self) -> str:
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                         for log in sorted((self.root / "log").glob("*.log")))

    def _wait_ready(self) -> None:
        deadline, pending = time.monotonic() + 90, {self.port + offset for offset in range(4)}
        while pending:
            if any(process.poll() is not None for process in self.processes) or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Swift did not start:\n{self._logs()}")
            for port in list(pending):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=2) as answer:
                        if answer.read() == b"OK":
                            pending.discard(port)
                except OSError:
                    pass
            time.sleep(0.1)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_swift(root: Path) -> Swift:
    if not (SWIFT_VENV / "bin" / "swift-proxy-server").exists():
        missing(f"Swift is not installed in {SWIFT_VENV} (.ci/run installs it; or set S3_SWIFT_VENV)")
    if not shutil.which("memcached"):
        missing("memcached is not installed (apt-get install memcached)")
    _check_xattrs(root)
    swift = Swift(root / "swift", _free_ports(), [])
    _write_config(swift.root, swift.port)
    swift.start()
    return swift


@pytest.fixture(scope="session")
def swift():
    """One Swift for the pytest process (each xdist worker has its own); tests take a bucket of their own."""
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="ngc-swift-", dir=base) as scratch:
        server = start_swift(Path(scratch))
        try:
            yield server
        finally:
            server.stop()
