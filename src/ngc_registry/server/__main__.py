"""`ngc-registry`: initialise a data directory, serve, and the operator's admin commands."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from ..errors import EXIT_INTERRUPTED, ConfigError, RegistryError
from .command_setup import STORE_OPTIONS, open_store, require_initialised
from .command_setup import settings_from as _settings
from .settings import Settings, env


def _sessions(settings: Settings):
    from .db.base import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.db_url))


def _require_current_schema(settings: Settings) -> None:
    from .services.bootstrap import schema_revisions

    current, needed = schema_revisions(settings)
    if current != needed:
        raise ConfigError(f"The database schema is at revision {current}; this server needs {needed}. Back it up, "
                          f"then run 'ngc-registry migrate --data-dir {settings.data_dir}' (once, on one replica).")


def cmd_init(args: argparse.Namespace) -> int:
    from .services.bootstrap import initialise

    settings = _settings(args)
    open_store(settings)
    done = initialise(settings, args.org, args.admin_email, args.admin_name, args.org_display_name)
    print(f"Initialised NGC Registry in {settings.data_dir}")
    print(f"Org: {done.org}")
    print(f"Admin: {done.admin_email} (REGISTRY_WRITE_ADMIN)")
    print(f"Web UI sign-in: set the admin's password with "
          f"'ngc-registry user set-password --data-dir {settings.data_dir} {done.admin_email}'")
    print(f"API key: {done.api_key}")
    return 0


def build_app():
    """The app of one worker process when `serve --workers N` runs several (uvicorn imports it by name)."""
    from .app import create_app

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    app = create_app(Settings(data_dir=Path(os.environ["NGC_REGISTRY_DATA_DIR"]),
                              database_url=os.environ.get("NGC_REGISTRY_DATABASE_URL", "")))  # storage: env too
    return frozen_heap(app)


YOUNG_COLLECTION_THRESHOLD = 20_000  # Python's 700 runs a young collection every few requests


def frozen_heap(app):
    """Everything built so far (modules, routes, mappers, the app) lives as long as the process: moved out of the
    collector's generations, a full collection no longer walks those ~125,000 objects while requests wait; and
    young collections run less often. Small requests: ~530 -> 580-730/s on 2 workers (wrk, bench row 6)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD)
    return app


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .serving import uvicorn_options

    settings = _settings(args)
    require_initialised(settings)
    _require_current_schema(settings)
    store = open_store(settings)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together.")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    options = dict(host=args.host, port=args.port, ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                   access_log=False, log_level="info", timeout_graceful_shutdown=10,
                   **uvicorn_options(tls=bool(args.tls_cert)))  # modern TLS only; stalled connections closed
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it; this handler turns that into a clean exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    if args.workers > 1:  # worker processes share the port; each builds its app from the environment
        os.environ.update(NGC_REGISTRY_DATA_DIR=str(settings.data_dir), NGC_REGISTRY_DATABASE_URL=settings.database_url)
        os.environ.update({f"NGC_REGISTRY_{name.upper()}": str(int(value) if isinstance(value, bool) else value)
                           for name in STORE_OPTIONS if (value := getattr(settings, name)) is not None})
        uvicorn.run("ngc_registry.server.__main__:build_app", factory=True, workers=args.workers, **options)
        return 0
    uvicorn.run(frozen_heap(create_app(settings, store)), **options)
    return 0


def cmd_user_api_key(args: argparse.Namespace) -> int:
    from .db.base import transaction
    from .services import keys, users

    settings = _settings(args)
    require_initialised(settings)
    with transaction(_sessions(settings)) as session:
        user = users.find_user(session, args.email)
        new_key = keys.rotate_legacy_key(session, user)
    print(f"API key: {new_key.secret}")
    return 0


def _read_password() -> str:
    """From the terminal (asked twice), or the first line of standard input (for scripts)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != password:
        raise ConfigError("The two passwords are different; nothing was changed.")
    return password


def cmd_user_set_password(args: argparse.Namespace) -> int:
    from .db.base import transaction
    from .services import accounts, users

    settings = _settings(args)
    require_initialised(settings)
    password = _read_password()
    with transaction(_sessions(settings)) as session:
        user = users.find_user(session, args.email)
        accounts.set_password(session, user, password)
    print(f"Password set for {user.email}: sign in to the web UI at /login.")
    return 0


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=env("DATA_DIR"), required=env("DATA_DIR") is None,
                        help="directory for the database and blobs (env NGC_REGISTRY_DATA_DIR)")
    parser.add_argument("--database-url", default=env("DATABASE_URL"),
                        help="SQLAlchemy URL; default sqlite in the data dir (env NGC_REGISTRY_DATABASE_URL)")
    store = parser.add_argument_group("blob storage")
    store.add_argument("--storage", metavar="URL",
                       help="s3://bucket/prefix for an S3-compatible store; default the data dir's blobs/ "
                            "(env NGC_REGISTRY_STORAGE)")
    store.add_argument("--s3-endpoint-url", metavar="URL", help="e.g. https://s3.internal:9000 (env "
                       "NGC_REGISTRY_S3_ENDPOINT_URL or AWS_ENDPOINT_URL; default AWS)")
    store.add_argument("--s3-region", help="default us-east-1 (env NGC_REGISTRY_S3_REGION or AWS_REGION)")
    store.add_argument("--s3-access-key-id", help="env NGC_REGISTRY_S3_ACCESS_KEY_ID or AWS_ACCESS_KEY_ID")
    store.add_argument("--s3-secret-access-key", help="env NGC_REGISTRY_S3_SECRET_ACCESS_KEY or "
                       "AWS_SECRET_ACCESS_KEY (prefer the variable: flags show in the process list)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ngc-registry", description="A self-hosted registry that speaks NGC.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser("init", help="create the database, the first org and its admin")
    _data_options(init)
    init.add_argument("--org", required=True, help="name of the first org")
    init.add_argument("--org-display-name", default="")
    init.add_argument("--admin-email", required=True)
    init.add_argument("--admin-name", default="")
    init.set_defaults(handler=cmd_init)
    serve = commands.add_parser("serve", help="serve the NGC API, the OCI API and the web UI")
    _data_options(serve)
    serve.add_argument("--host", default=env("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(env("PORT", "8000")))
    serve.add_argument("--tls-cert", default=env("TLS_CERT"))
    serve.add_argument("--tls-key", default=env("TLS_KEY"))
    serve.add_argument("--workers", type=int, default=int(env("WORKERS", "1")),
                       help="worker processes sharing the port (env NGC_REGISTRY_WORKERS); 2 on 2 cores")
    serve.add_argument("--s3-redirect", action=argparse.BooleanOptionalAction, default=None,
                       help="answer OCI blob GETs on S3 with a 307 to a presigned URL (the default) or stream "
                            "them through the server (env NGC_REGISTRY_S3_REDIRECT=0)")
    serve.set_defaults(handler=cmd_serve)
    user = commands.add_parser("user", help="operator commands on users").add_subparsers(
        dest="user_command", required=True, metavar="COMMAND")
    api_key = user.add_parser("api-key", help="print a new API key for a user; the old one stops working")
    _data_options(api_key)
    api_key.add_argument("email", help="the user's email or id")
    api_key.set_defaults(handler=cmd_user_api_key)
    set_password = user.add_parser("set-password", help="set a user's web UI password (from the terminal or stdin)")
    _data_options(set_password)
    set_password.add_argument("email", help="the user's email or id")
    set_password.set_defaults(handler=cmd_user_set_password)
    from .ops_commands import add_commands

    add_commands(commands, _data_options)
    from .audit_commands import add_audit_command

    add_audit_command(commands, _data_options)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except RegistryError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return error.exit_code
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(f"Error: database error: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
