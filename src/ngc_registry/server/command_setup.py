"""What every `ngc-registry` command starts from: settings from flags and environment, the checked store, the
initialised database. Shared by __main__ (init, serve, user) and ops_commands (gc, fsck, export, import, ...)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError
from .settings import Settings

STORE_OPTIONS = ("storage", "s3_endpoint_url", "s3_region", "s3_access_key_id", "s3_secret_access_key",
                 "s3_redirect")


def settings_from(args: argparse.Namespace) -> Settings:
    """Flags over NGC_REGISTRY_* variables (the dataclass defaults)."""
    stores = {name: getattr(args, name) for name in STORE_OPTIONS if getattr(args, name, None) is not None}
    return Settings(data_dir=Path(args.data_dir).resolve(), database_url=args.database_url or "", **stores)


def open_store(settings: Settings):
    """The configured store, reachable; a bad URL or an unreachable store is one clear ConfigError."""
    from .storage.factory import describe
    from .storage.s3_client import StoreConfigError

    try:
        store = settings.open_store()
    except StoreConfigError as error:
        raise ConfigError(str(error)) from None
    try:
        store.ping()
    except OSError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"The blob store {describe(store)} is not reachable: {reason}") from None
    return store


def require_initialised(settings: Settings) -> None:
    from .services.bootstrap import is_initialised

    if not is_initialised(settings):
        raise ConfigError(f"{settings.data_dir} is not initialised: run 'ngc-registry init --data-dir ...' first.")
