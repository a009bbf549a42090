"""The store a registry is configured with: a local directory (the default) or `s3://bucket/prefix`."""

from __future__ import annotations

from pathlib import Path

from .filesystem import FilesystemStore
from .s3_client import StoreConfigError, parse_location


def is_s3(storage: str) -> bool:
    return storage.startswith("s3://")


def open_store(storage: str, blob_dir: Path, endpoint_url: str | None = None, region: str | None = None,
               access_key_id: str | None = None, secret_access_key: str | None = None):
    """FilesystemStore on `blob_dir` when `storage` is empty, else the S3Store it names (StoreConfigError if bad)."""
    if not storage:
        return FilesystemStore(blob_dir)
    if not is_s3(storage):
        raise StoreConfigError(f"Invalid storage '{storage}': use s3://bucket/prefix (or leave it unset for the "
                               "data directory).")
    from .s3 import S3Store
    from .s3_client import make_client

    location = parse_location(storage, endpoint_url, region, access_key_id, secret_access_key)
    return S3Store(location, make_client(location))


def describe(store) -> str:
    location = getattr(store, "location", None)
    if location is None:
        return str(store.root)
    return f"s3://{location.bucket}/{location.prefix}" + (f" at {location.endpoint_url}" if location.endpoint_url
                                                           else "")
