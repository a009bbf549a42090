"""The operator's maintenance commands: `ngc-registry gc | fsck | export | import | quota | migrate`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from ..errors import InvalidArgumentError
from .command_setup import open_store, require_initialised
from .command_setup import settings_from as _settings

_SIZE = re.compile(r"^(\d+)\s*([kmgtp]?)(i?)b?$", re.IGNORECASE)


def _registry(args: argparse.Namespace):
    """Settings, sessions and store of an initialised registry."""
    from .db.base import make_engine, make_sessionmaker

    settings = _settings(args)
    require_initialised(settings)
    return settings, make_sessionmaker(make_engine(settings.db_url)), open_store(settings)


def parse_size(text: str) -> int:
    """Bytes, with an optional decimal (K, M, G, T, P) or binary (Ki, Mi, ...) multiplier: 500G, 1.5 is refused."""
    found = _SIZE.match(text.strip())
    if not found:
        raise InvalidArgumentError(f"Invalid size '{text}': use a number of bytes, optionally with K, M, G, T or "
                                   "Ki, Mi, Gi, Ti (e.g. 500G).")
    power = "kmgtp".find(found[2].lower()) + 1 if found[2] else 0
    return int(found[1]) * (1024 if found[3] else 1000) ** power


def cmd_gc(args: argparse.Namespace) -> int:
    from .services import gc

    _, sessions, store = _registry(args)
    verb = "would delete" if args.dry_run else "deleted"
    listener = (lambda kind, name, size: print(f"{verb} {kind} {name} ({size} bytes)")) \
        if args.dry_run or args.verbose else None
    report = gc.collect(sessions, store, grace=args.grace, upload_ttl=args.upload_ttl, dry_run=args.dry_run,
                        listener=listener)
    print(report.summary())
    return 0


def cmd_fsck(args: argparse.Namespace) -> int:
    from .services import fsck

    _, sessions, store = _registry(args)
    report = fsck.check(sessions, store, sample=None if args.full else args.sample)
    for line in report.notes + report.problems:
        print(line)
    if args.sample is not None and not args.full:
        print(f"fsck: re-hashed a random sample of {report.rehashed} blobs")
    print(report.summary())
    return 1 if report.problems else 0


def cmd_export(args: argparse.Namespace) -> int:
    from .services import backup

    settings, _, store = _registry(args)
    if args.to == "-":
        report = backup.export(settings.db_url, store, sys.stdout.buffer)
    else:
        partial = Path(args.to + ".partial")
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as target:
            report = backup.export(settings.db_url, store, target)
            os.fsync(target.fileno())
        partial.replace(args.to)
    for digest in report.missing:
        print(f"warning: missing bytes: {digest} (not in the backup; run 'ngc-registry fsck')", file=sys.stderr)
    print(report.summary("Exported") + f" to {args.to}", file=sys.stderr if args.to == "-" else sys.stdout)
    return 1 if report.missing else 0


def cmd_import(args: argparse.Namespace) -> int:
    from .services import backup

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    if args.source == "-":
        report = backup.restore(settings.db_url, store, sys.stdin.buffer)
    else:
        with open(args.source, "rb") as source:
            report = backup.restore(settings.db_url, store, source)
    print(report.summary("Imported") + f" into {settings.data_dir}")
    return 0


def cmd_quota_set(args: argparse.Namespace) -> int:
    from .db.base import transaction
    from .services import quotas

    _, sessions, _ = _registry(args)
    limit = parse_size(args.bytes)
    with transaction(sessions) as session:
        org = quotas.set_quota(session, args.org, limit)
    print(f"Org '{org.name}' storage quota: " + (f"{limit} bytes." if limit else "none (unlimited)."))
    return 0


def cmd_quota_show(args: argparse.Namespace) -> int:
    from .db.base import transaction
    from .services import orgs, quotas

    _, sessions, _ = _registry(args)
    with transaction(sessions) as session:
        names = [args.org] if args.org else sorted(quotas.usage_by_org(session) | quotas.limits_by_org(session))
        for name in names:
            org = orgs.get_org(session, name)
            limit = quotas.limit_of(session, org.id)
            print(f"{org.name}: {quotas.usage(session, org.id)} bytes used, quota "
                  + (f"{limit} bytes" if limit else "none"))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from .db.base import upgrade_schema

    settings = _settings(args)
    upgrade_schema(settings.db_url)
    print(f"The database of {settings.data_dir} is at the newest schema.")
    return 0


def _gc_parser(commands, data_options) -> None:
    from .services.gc import DEFAULT_GRACE_SECONDS, DEFAULT_UPLOAD_TTL_SECONDS

    gc = commands.add_parser("gc", help="delete blobs nothing refers to and stale uploads (safe while serving)")
    data_options(gc)
    gc.add_argument("--dry-run", action="store_true", help="list what would be deleted; change nothing")
    gc.add_argument("--grace", type=float, default=DEFAULT_GRACE_SECONDS, metavar="SECONDS",
                    help="spare blobs created or re-used this recently (default %(default)s)")
    gc.add_argument("--upload-ttl", type=float, default=DEFAULT_UPLOAD_TTL_SECONDS, metavar="SECONDS",
                    help="expire upload sessions idle this long (default %(default)s)")
    gc.add_argument("-v", "--verbose", action="store_true", help="name every object deleted")
    gc.set_defaults(handler=cmd_gc)


def _fsck_parser(commands, data_options) -> None:
    fsck = commands.add_parser("fsck", help="check references and re-hash blobs; exit 1 listing any problem")
    data_options(fsck)
    how = fsck.add_mutually_exclusive_group()
    how.add_argument("--sample", type=int, metavar="N", help="re-hash N blobs chosen at random")
    how.add_argument("--full", action="store_true", help="re-hash every blob (the default)")
    fsck.set_defaults(handler=cmd_fsck)


def _backup_parsers(commands, data_options) -> None:
    export = commands.add_parser("export", help="write a backup (database rows and blobs) to a tar file")
    data_options(export)
    export.add_argument("--to", required=True, metavar="FILE", help="the backup file ('-': standard output)")
    export.set_defaults(handler=cmd_export)
    restore = commands.add_parser("import", help="restore a backup into a new data dir and an empty database")
    data_options(restore)
    restore.add_argument("--from", dest="source", required=True, metavar="FILE",
                         help="the backup file ('-': standard input)")
    restore.set_defaults(handler=cmd_import)


def _quota_parsers(commands, data_options) -> None:
    quota = commands.add_parser("quota", help="per-org storage quotas").add_subparsers(
        dest="quota_command", required=True, metavar="COMMAND")
    set_quota = quota.add_parser("set", help="limit an org's storage (0: no limit)")
    data_options(set_quota)
    set_quota.add_argument("org")
    set_quota.add_argument("bytes", help="bytes, or with a unit: 500G, 2Ti; 0 removes the limit")
    set_quota.set_defaults(handler=cmd_quota_set)
    show = quota.add_parser("show", help="storage used and allowed, for one org or every org using storage")
    data_options(show)
    show.add_argument("org", nargs="?")
    show.set_defaults(handler=cmd_quota_show)


def add_commands(commands, data_options) -> None:
    """Register the maintenance commands on `ngc-registry`'s subcommand parser."""
    _gc_parser(commands, data_options)
    _fsck_parser(commands, data_options)
    _backup_parsers(commands, data_options)
    _quota_parsers(commands, data_options)
    migrate = commands.add_parser("migrate", help="bring the database schema up to date (after an upgrade)")
    data_options(migrate)
    migrate.set_defaults(handler=cmd_migrate)
