"""End-to-end tests: a real `ngc-registry serve` process, driven by the installed `ngc` console script.

The registry most tests share runs on SQLite and the filesystem store; with NGC_E2E_BACKEND=postgres-s3 it runs
on PostgreSQL and a real Swift's S3 API instead (`make test-e2e-postgres-s3`), and the tests that look at the
filesystem store's files (marked `filesystem_store`) are left out.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..postgres import new_database, postgres_url  # noqa: F401  (fixture, for NGC_E2E_BACKEND=postgres-s3)
from ..swift import swift  # noqa: F401  (fixture, for NGC_E2E_BACKEND=postgres-s3)

BIN = Path(sys.executable).parent
BACKEND = os.environ.get("NGC_E2E_BACKEND", "sqlite-fs")
BACKENDS = ("sqlite-fs", "postgres-s3")
ORG = "nvidia"
ADMIN_EMAIL = "admin@example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*argv: str, env: dict | None = None, input: str | None = None, timeout: float = 120):
    return subprocess.run(argv, env=env, input=input, capture_output=True, text=True, timeout=timeout)


@dataclass
class ServerProcess:
    url: str
    org: str
    admin_key: str
    data_dir: Path
    process: subprocess.Popen
    log: Path
    admin_args: tuple[str, ...] = ()  # what `ngc-registry` admin commands need besides --data-dir

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def new_key(self, email: str) -> str:
        done = run(str(BIN / "ngc-registry"), "user", "api-key", "--data-dir", str(self.data_dir), *self.admin_args,
                   email)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().rsplit("API key: ", 1)[1]


def init_registry(data_dir: Path, org: str = ORG, *extra: str) -> str:
    done = run(str(BIN / "ngc-registry"), "init", "--data-dir", str(data_dir), *extra, "--org", org,
               "--admin-email", ADMIN_EMAIL, "--admin-name", "Admin User")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("API key: ")
    return last.removeprefix("API key: ")


def start_server(data_dir: Path, admin_key: str, *extra: str, scheme: str = "http", org: str = ORG,
                 env: dict | None = None) -> ServerProcess:
    port = free_port()
    log = data_dir.parent / f"server-{port}.log"
    process = subprocess.Popen([str(BIN / "ngc-registry"), "serve", "--data-dir", str(data_dir),
                                "--port", str(port), *extra], stdout=log.open("w"), stderr=subprocess.STDOUT,
                               env={**os.environ, **env} if env else None)
    url = f"{scheme}://127.0.0.1:{port}"
    _wait_until_healthy(url, process, log, verify=False)
    return ServerProcess(url, org, admin_key, data_dir, process, log)


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path, verify=False) -> None:
    deadline = time.monotonic() + 90  # a start-up takes about a second; a loaded 2-core machine can take far longer
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()}")


def pytest_collection_modifyitems(items) -> None:
    if BACKEND not in BACKENDS:
        raise pytest.UsageError(f"NGC_E2E_BACKEND must be one of {', '.join(BACKENDS)}, not {BACKEND!r}")
    if BACKEND != "sqlite-fs":
        skip = pytest.mark.skip(reason="looks at the filesystem store; NGC_E2E_BACKEND runs the S3 store")
        for item in items:
            if item.get_closest_marker("filesystem_store"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def registry(request, tmp_path_factory) -> ServerProcess:
    data_dir = tmp_path_factory.mktemp("registry") / "data"
    if BACKEND == "postgres-s3":
        server, _ = start_on_postgres_s3(data_dir, request.getfixturevalue("postgres_url"),
                                         request.getfixturevalue("swift"))
    else:
        server = start_server(data_dir, init_registry(data_dir))
    yield server
    server.stop()


def start_on_postgres_s3(data_dir: Path, postgres_url: str, swift, env: dict | None = None,  # noqa: F811
                         ) -> tuple[ServerProcess, str]:
    """A registry on a new PostgreSQL database and a new Swift bucket (whose name comes with it); its admin_args
    name the database."""
    database, bucket = ("--database-url", new_database(postgres_url)), swift.new_bucket()
    server = start_server(data_dir, init_registry(data_dir, ORG, *database), *database, "--storage",
                          f"s3://{bucket}/registry", env={**swift.env(), **(env or {})})
    server.admin_args = database
    return server, bucket


@pytest.fixture
def ngc(registry, tmp_path):
    """Run the installed `ngc` with its own NGC_CLI_HOME, pointed at the test server."""
    home = tmp_path / "ngc-home"
    home.mkdir()

    def _run(*args: str, key: str | None = None, input: str | None = None, env: dict | None = None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("NGC_")}
        full_env.update(NGC_CLI_HOME=str(home), NGC_CLI_API_URL=registry.url)
        if key is not None:
            full_env["NGC_CLI_API_KEY"] = key
        full_env.update(env or {})
        return run(str(BIN / "ngc"), *args, env=full_env, input=input)

    _run.home = home
    return _run
