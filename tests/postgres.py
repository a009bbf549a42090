"""A throwaway PostgreSQL server for tests: Debian's initdb/pg_ctl into a temporary directory.

Set NGC_TEST_POSTGRES_URL to use a running server instead (a base URL; each test gets its own database).
Without PostgreSQL binaries the PostgreSQL variants are skipped, except in CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


class PostgresServer:
    def __init__(self, root: Path):
        if not (PG_BIN / "initdb").exists():
            _missing(f"PostgreSQL 15 binaries not found in {PG_BIN}")
        self.root, self.port = root, _free_port()
        root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        self.data = root / "pgdata"
        try:
            self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"initdb failed: {error.stderr.decode(errors='replace')}") from None
        self.start()
        self.base_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, argv: list[str]) -> None:
        subprocess.run(_as_postgres(argv), check=True, capture_output=True, cwd=self.root, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                   "-w", "start"])

    def stop(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def restart(self) -> None:
        """Stop, then start as at first (`pg_ctl restart` would hand the new server our output pipes, and
        capturing them would then wait for that server to exit)."""
        self.stop()
        self.start()


def new_database(base_url: str, template: str | None = None) -> str:
    """A fresh database on the server (a copy of `template` when given); returns its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    name = "t_" + uuid.uuid4().hex[:16]
    engine = create_engine(f"{base_url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return f"{base_url}/{name}"


@pytest.fixture(scope="session")
def postgres_url():
    """Base URL of a PostgreSQL server for the whole session."""
    if os.environ.get("NGC_TEST_POSTGRES_URL"):
        yield os.environ["NGC_TEST_POSTGRES_URL"].rstrip("/")
        return
    root = Path(tempfile.mkdtemp(prefix="ngc-test-pg-"))  # not under pytest's 0700 tmp: postgres must reach it
    server = PostgresServer(root)
    yield server.base_url
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
