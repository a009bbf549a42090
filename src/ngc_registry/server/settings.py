"""Server settings: flags, with environment variables of the same name (NGC_REGISTRY_*) as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .db.base import sqlite_url


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str = ""
    token_ttl_seconds: int = 3600
    max_json_bytes: int = 1 << 20
    part_size: int = int(os.environ.get("NGC_REGISTRY_PART_SIZE", "500000000"))
    signed_url_ttl: int = field(default_factory=lambda: int(env("SIGNED_URL_TTL", str(6 * 3600))))
    max_manifest_bytes: int = 4 << 20  # OCI: registries should accept manifests of at least 4 MiB
    # Web UI: browser sessions, sign-in rate limit, invitations (SMTP is off unless a host is set).
    session_ttl_seconds: int = 12 * 3600
    sign_in_max_failures: int = 5
    sign_in_window_seconds: int = 15 * 60
    # /token and caller-info: failed credentials per account (<email>:<key>) and per client address, per window.
    token_max_failures: int = field(default_factory=lambda: int(env("TOKEN_MAX_FAILURES", "10")))
    token_client_max_failures: int = field(default_factory=lambda: int(env("TOKEN_CLIENT_MAX_FAILURES", "60")))
    token_window_seconds: int = 5 * 60
    activation_ttl_seconds: int = 7 * 24 * 3600
    public_url: str = field(default_factory=lambda: env("PUBLIC_URL", ""))
    smtp_host: str = field(default_factory=lambda: env("SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: int(env("SMTP_PORT", "25")))
    smtp_from: str = field(default_factory=lambda: env("SMTP_FROM", "ngc-registry@localhost"))
    metrics_token: str = field(default_factory=lambda: env("METRICS_TOKEN", ""))  # /metrics wants it when set
    # Blob storage: "" is the data directory; s3://bucket/prefix an S3 store (unset S3 settings: the AWS_* variables).
    storage: str = field(default_factory=lambda: env("STORAGE", ""))
    s3_endpoint_url: str | None = field(default_factory=lambda: env("S3_ENDPOINT_URL"))
    s3_region: str | None = field(default_factory=lambda: env("S3_REGION"))
    s3_access_key_id: str | None = field(default_factory=lambda: env("S3_ACCESS_KEY_ID"))
    s3_secret_access_key: str | None = field(default_factory=lambda: env("S3_SECRET_ACCESS_KEY"))
    s3_redirect: bool = field(default_factory=lambda: env("S3_REDIRECT", "1").lower() not in ("0", "false", "no", "off"))

    @property
    def db_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    def open_store(self):
        """The configured blob store (raises StoreConfigError for a bad storage URL)."""
        from .storage.factory import open_store

        return open_store(self.storage, self.blob_dir, self.s3_endpoint_url, self.s3_region, self.s3_access_key_id,
                          self.s3_secret_access_key)

    @property
    def downloads_dir(self) -> Path:
        """Files the web UI offers on Setup → Install CLI (e.g. the `ngc` wheel)."""
        return self.data_dir / "downloads"


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"NGC_REGISTRY_{name}", default)
