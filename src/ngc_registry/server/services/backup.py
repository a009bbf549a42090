"""Backup and restore: one tar stream with every blob and every row, portable between SQLite and PostgreSQL.

    backup.json               format, schema revision, and each table: its columns holding datetimes, its rows
    blobs/<algorithm>/<hex>   the bytes of every blob row (first, so that a restore writes bytes before rows)
    tables/<name>.jsonl       one JSON object per row, tables in foreign-key order

The rows come from one consistent snapshot of the database (a copy made with SQLite's backup API, or a PostgreSQL
REPEATABLE READ transaction), so a backup can be taken while servers run. Upload sessions in progress are left
out (their parts are not carried); clients re-run those uploads. The archive holds the server's secrets and the
hashes of API keys: keep it as safe as the database.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Connection, DateTime, Integer, MetaData, select, text
from sqlalchemy.engine import make_url

from ...errors import ConfigError
from ..db.base import _alembic_config, make_engine, schema_exists
from ..storage.maintenance import MaintainedStore

FORMAT = "ngc-registry-backup/1"
SKIPPED_TABLES = {"alembic_version", "uploads", "upload_parts", "image_uploads"}
INSERT_BATCH = 1000
COPY_BUFFER = 4 << 20
_BLOB_MEMBER = re.compile(r"^blobs/(sha256|sha512)/([a-f0-9]{64}|[a-f0-9]{128})$")


@dataclass
class BackupReport:
    tables: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0
    missing: list[str] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        return (f"{verb} {sum(self.tables.values())} rows in {len(self.tables)} tables and {self.blobs} blobs "
                f"({self.blob_bytes} bytes)" + (f"; {len(self.missing)} blobs missing from the store"
                                                if self.missing else ""))


# -- export -----------------------------------------------------------------------------------------------------

@contextmanager
def _snapshot(url: str) -> Iterator[Connection]:
    """A connection that sees one consistent state of the database for as long as it is open."""
    with tempfile.TemporaryDirectory(prefix="ngc-backup-") as scratch:
        if url.startswith("sqlite"):
            copy = Path(scratch) / "snapshot.db"
            with closing(sqlite3.connect(make_url(url).database)) as source, closing(sqlite3.connect(copy)) as into:
                source.backup(into)
            url = f"sqlite:///{copy}"
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "postgresql":
                    connection = connection.execution_options(isolation_level="REPEATABLE READ")
                with connection.begin():
                    yield connection
        finally:
            engine.dispose()


def _encode(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _dump_table(connection: Connection, table, path: Path) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for row in connection.execute(select(table)).mappings():
            out.write(json.dumps({key: _encode(value) for key, value in row.items()}, ensure_ascii=False) + "\n")
            count += 1
    return count


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = path.stat().st_size, 0o600
    with open(path, "rb") as stream:
        tar.addfile(info, stream)


def _add_blob(tar: tarfile.TarFile, store: MaintainedStore, digest: str) -> int | None:
    size = store.blob_size(digest)
    if size is None:
        return None
    info = tarfile.TarInfo("blobs/" + digest.replace(":", "/"))
    info.size, info.mode = size, 0o600
    with store.open_blob(digest) as stream:
        tar.addfile(info, stream)
    return size


def _dump_tables(connection: Connection, scratch: Path, report: BackupReport) -> list:
    """Each table to `<name>.jsonl` in `scratch`, and `backup.json` describing them; returns the tables."""
    metadata = MetaData()
    metadata.reflect(connection)
    tables = [t for t in metadata.sorted_tables if t.name not in SKIPPED_TABLES]
    for table in tables:
        report.tables[table.name] = _dump_table(connection, table, scratch / f"{table.name}.jsonl")
    description = {"format": FORMAT, "revision": connection.scalar(text("SELECT version_num FROM alembic_version")),
                   "created": datetime.now().isoformat(),
                   "tables": [{"name": t.name, "rows": report.tables[t.name],
                               "datetimes": [c.name for c in t.columns if isinstance(c.type, DateTime)]}
                              for t in tables]}
    (scratch / "backup.json").write_text(json.dumps(description, indent=2))
    return tables


def _add_blobs(tar: tarfile.TarFile, store: MaintainedStore, digests: list[str], report: BackupReport) -> None:
    for digest in digests:
        size = _add_blob(tar, store, digest)
        if size is None:
            report.missing.append(digest)
        else:
            report.blobs, report.blob_bytes = report.blobs + 1, report.blob_bytes + size


def export(url: str, store: MaintainedStore, target: BinaryIO) -> BackupReport:
    """Write a backup of the database at `url` and its blobs to `target` (a stream; it is not closed)."""
    report = BackupReport()
    with _snapshot(url) as connection, tempfile.TemporaryDirectory(prefix="ngc-backup-") as scratch:
        tables = _dump_tables(connection, Path(scratch), report)
        digests = list(connection.scalars(text("SELECT digest FROM blobs ORDER BY digest")))
        with tarfile.open(fileobj=target, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add_file(tar, "backup.json", Path(scratch) / "backup.json")
            _add_blobs(tar, store, digests, report)
            for table in tables:
                _add_file(tar, f"tables/{table.name}.jsonl", Path(scratch) / f"{table.name}.jsonl")
    return report


# -- restore ----------------------------------------------------------------------------------------------------

def _read_description(tar: tarfile.TarFile) -> dict:
    first = tar.next()
    if first is None or first.name != "backup.json":
        raise ConfigError("Not an ngc-registry backup: it does not start with backup.json.")
    description = json.load(tar.extractfile(first))
    if description.get("format") != FORMAT:
        raise ConfigError(f"Unsupported backup format {description.get('format')!r}; expected {FORMAT}.")
    return description


def _restore_blob(store: MaintainedStore, name: str, stream: BinaryIO) -> int:
    """Write one blob through the store's verified path: its bytes must hash to the digest in its name."""
    found = _BLOB_MEMBER.match(name)
    if not found:
        raise ConfigError(f"Unexpected member '{name[:200]}' in the backup.")
    algorithm, expected = found[1], found[2]
    hasher, writer = hashlib.new(algorithm), store.temp_writer()
    try:
        while chunk := stream.read(COPY_BUFFER):
            writer.write(chunk)
            hasher.update(chunk)
        writer.finish()
    except BaseException:
        writer.discard()
        raise
    if hasher.hexdigest() != expected:
        writer.discard()
        raise ConfigError(f"Blob {algorithm}:{expected} in the backup is corrupt: its bytes hash differently.")
    store.promote(writer.path, f"{algorithm}:{expected}")
    return writer.size


def _decode(row: dict, datetimes: list[str]) -> dict:
    for column in datetimes:
        if row.get(column) is not None:
            row[column] = datetime.fromisoformat(row[column])
    return row


def _insert_rows(connection: Connection, table, stream: BinaryIO, datetimes: list[str]) -> int:
    batch, count = [], 0
    for line in stream:
        batch.append(_decode(json.loads(line), datetimes))
        if len(batch) >= INSERT_BATCH:
            connection.execute(table.insert(), batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(table.insert(), batch)
    return count + len(batch)


def _reset_sequences(connection: Connection, metadata: MetaData) -> None:
    """PostgreSQL: let new rows take ids after the restored ones."""
    for table in metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, Integer):
            column = keys[0].name
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column}'), "
                                    f"coalesce(max(\"{column}\"), 0) + 1, false) FROM \"{table.name}\""))


def _create_schema(url: str, revision: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config(url)
    if ScriptDirectory.from_config(config).get_revision(revision) is None:
        raise ConfigError(f"The backup's schema revision {revision} is unknown here: restore it with the "
                          "ngc-registry version that made it, or a newer one.")
    command.upgrade(config, revision)


def _check_empty(url: str) -> None:
    engine = make_engine(url)
    try:
        if schema_exists(engine):
            raise ConfigError("The target database already holds a registry; restore into an empty one.")
    finally:
        engine.dispose()


def _load_member(connection: Connection, metadata: MetaData, store: MaintainedStore, tar: tarfile.TarFile,
                 member: tarfile.TarInfo, tables: dict[str, dict], report: BackupReport) -> None:
    if member.name.startswith("blobs/"):
        report.blob_bytes += _restore_blob(store, member.name, tar.extractfile(member))
        report.blobs += 1
        return
    name = member.name.removeprefix("tables/").removesuffix(".jsonl")
    if name not in tables or name not in metadata.tables:
        raise ConfigError(f"Unexpected member '{member.name[:200]}' in the backup.")
    report.tables[name] = _insert_rows(connection, metadata.tables[name], tar.extractfile(member),
                                       tables[name]["datetimes"])


def _load(url: str, store: MaintainedStore, tar: tarfile.TarFile, tables: dict[str, dict],
          report: BackupReport) -> None:
    """Every member after backup.json, in order (blobs, then tables), in one database transaction."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            while (member := tar.next()) is not None:  # iterating the tar would yield backup.json again
                _load_member(connection, metadata, store, tar, member, tables, report)
            if engine.dialect.name == "postgresql":
                _reset_sequences(connection, metadata)
    finally:
        engine.dispose()


def restore(url: str, store: MaintainedStore, source: BinaryIO) -> BackupReport:
    """Load a backup into an empty database at `url` and the store: blobs first, then rows, then migrate."""
    from alembic import command

    _check_empty(url)
    report = BackupReport()
    with tarfile.open(fileobj=source, mode="r|") as tar:
        description = _read_description(tar)
        _create_schema(url, description["revision"])
        _load(url, store, tar, {table["name"]: table for table in description["tables"]}, report)
    command.upgrade(_alembic_config(url), "head")
    return report
