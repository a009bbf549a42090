"""Initialising a registry: schema, server secret, first org and its admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from ...errors import ConfigError
from ..auth.policy import Role
from ..db.base import MIGRATIONS_DIR, make_engine, make_sessionmaker, schema_exists, transaction, upgrade_schema
from ..db.tables import Setting
from ..settings import Settings
from . import keys, orgs, users

TOKEN_SECRET = "token_secret"


@dataclass(frozen=True)
class Initialised:
    org: str
    admin_email: str
    api_key: str


def is_initialised(settings: Settings) -> bool:
    if not settings.database_url and not (settings.data_dir / "registry.db").exists():
        return False
    engine = make_engine(settings.db_url)
    try:
        if not schema_exists(engine):
            return False
        with engine.connect() as connection:
            return connection.scalar(select(Setting.value).where(Setting.key == TOKEN_SECRET)) is not None
    finally:
        engine.dispose()


def schema_revisions(settings: Settings) -> tuple[str | None, str]:
    """The database's schema revision and the one this version of the server needs."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision(), head
    finally:
        engine.dispose()


def initialise(settings: Settings, org_name: str, admin_email: str, admin_name: str = "",
               org_display_name: str = "") -> Initialised:
    """Create everything a new registry needs; refuse, changing nothing, when it already exists."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if is_initialised(settings):
        raise ConfigError(f"{settings.data_dir} is already initialised; nothing was changed. "
                          "Use 'ngc-registry user api-key' to get a new admin key.")
    upgrade_schema(settings.db_url)
    settings.blob_dir.mkdir(exist_ok=True)
    engine = make_engine(settings.db_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            org = orgs.create_org(session, org_name, org_display_name)
            admin, _ = users.ensure_user(session, admin_email, admin_name)
            users.grant_roles(session, admin, org, None, [Role.WRITE_ADMIN], None)
            new_key = keys.rotate_legacy_key(session, admin)
            session.add(Setting(key=TOKEN_SECRET, value=secrets.token_urlsafe(48)))
    finally:
        engine.dispose()
    return Initialised(org=org.name, admin_email=admin.email, api_key=new_key.secret)
