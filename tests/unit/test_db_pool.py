"""The SQLite engine keeps as many connections as the server has worker threads, so requests reuse them."""

from __future__ import annotations

from sqlalchemy import event, text

from ngc_registry.server.db.base import THREADS, make_engine


def test_sqlite_pool_is_as_large_as_the_thread_pool(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/registry.db")
    try:
        assert engine.pool.size() == THREADS == 40
    finally:
        engine.dispose()


def test_connections_held_by_every_thread_at_once_are_reused_not_reopened(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/registry.db")
    opened: list[object] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))
    try:
        for _ in range(3):  # three bursts of THREADS concurrent requests, each holding a connection
            held = [engine.connect() for _ in range(THREADS)]
            for connection in held:
                connection.execute(text("SELECT 1"))
                connection.close()
        assert len(opened) == THREADS
    finally:
        engine.dispose()


def test_more_requests_than_threads_still_get_a_connection(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/registry.db")
    try:
        held = [engine.connect() for _ in range(THREADS + 5)]  # requests keep theirs between thread hops
        assert all(c.execute(text("SELECT 1")).scalar() == 1 for c in held)
        for connection in held:
            connection.close()
    finally:
        engine.dispose()
