"""Server settings: flags, with environment variables of the same name (NGC_REGISTRY_*) as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .db.base import sqlite_url


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str = ""
    token_ttl_seconds: int = 3600
    max_json_bytes: int = 1 << 20
    part_size: int = int(os.environ.get("NGC_REGISTRY_PART_SIZE", "500000000"))
    signed_url_ttl: int = 6 * 3600

    @property
    def db_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"NGC_REGISTRY_{name}", default)
