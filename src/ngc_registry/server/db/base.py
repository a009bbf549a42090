"""Engine and sessions over SQLite (default) or PostgreSQL, and the Alembic upgrade that creates the schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# anyio's default worker-thread limit, shared by every sync dependency and endpoint: as many pooled connections
# as threads can use them at once, so a request reuses a connection instead of opening one (SQLite: connect,
# PRAGMAs, schema parse, cold page cache). Overflow stays possible, since a request keeps its connection between
# thread hops and more requests than threads may be in flight.
THREADS = 40
# PostgreSQL: two workers stay within the server's default max_connections (100).
PG_POOL, PG_OVERFLOW = 30, 10


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'registry.db'}"


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, THREADS)
    return create_engine(url, pool_size=PG_POOL, max_overflow=PG_OVERFLOW, pool_pre_ping=True)


def _sqlite_engine(url: str, pool_size: int, *on_connect) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=pool_size,
                           max_overflow=-1)
    for listener in (_tune_sqlite, *on_connect):
        event.listen(engine, "connect", listener)
    return engine


def _refuse_writes(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA query_only=ON")


def make_read_only_engine(url: str) -> Engine | None:
    """For reads run on the event loop (`deps.reads_only`): SQLite only, where a read never waits (WAL readers take
    no lock a writer holds) and runs in this process. A write through it fails at once ("attempt to write a readonly
    database") instead of waiting for the write lock with the loop blocked. PostgreSQL reads wait on the network:
    None, they stay in worker threads."""
    return _sqlite_engine(url, 1, _refuse_writes) if url.startswith("sqlite") else None


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any exception."""
    with factory() as session, session.begin():
        yield session


def _alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_schema(url: str) -> None:
    from alembic import command

    command.upgrade(_alembic_config(url), "head")


def schema_exists(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
