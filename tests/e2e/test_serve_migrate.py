"""A server upgraded over an older database: `serve` names the migration to run instead of failing on a missing
column or index, and `ngc-registry migrate` brings the schema up to date without losing anything."""

from __future__ import annotations

from alembic import command

from ngc_registry.server.db.base import _alembic_config

from .conftest import BIN, init_registry, run, start_server


def test_serve_asks_for_migrate_on_an_older_schema_and_migrate_fixes_it(tmp_path):
    data_dir = tmp_path / "data"
    key = init_registry(data_dir)
    command.downgrade(_alembic_config(f"sqlite:///{data_dir / 'registry.db'}"), "-1")  # as an older release left it
    refused = run(str(BIN / "ngc-registry"), "serve", "--data-dir", str(data_dir), "--port", "1")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and f"ngc-registry migrate --data-dir {data_dir}" in refused.stderr
    migrated = run(str(BIN / "ngc-registry"), "migrate", "--data-dir", str(data_dir))
    assert migrated.returncode == 0, migrated.stderr
    server = start_server(data_dir, key)
    try:
        assert server.new_key("admin@example.com").startswith("ngcr_")  # the admin kept: nothing lost
    finally:
        server.stop()
