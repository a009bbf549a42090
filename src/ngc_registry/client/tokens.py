"""Bearer-token cache for legacy API keys: `$NGC_CLI_HOME/.ngc/tokens.json`, mode 0600.

Entries are keyed by sha256 of `[api_key, org, team]` so the file never holds a key, only tokens.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from pathlib import Path

RENEW_BEFORE_EXPIRY_SECONDS = 300
PERSONAL_KEY_PREFIX = "nvapi-"


def is_personal_key(api_key: str | None) -> bool:
    """An `nvapi-` key is sent as the bearer token itself; any other key is exchanged at `/token`."""
    return bool(api_key) and api_key.startswith(PERSONAL_KEY_PREFIX)


def token_cache_key(api_key: str, org: str | None, team: str | None) -> str:
    return hashlib.sha256(json.dumps([api_key, org, team]).encode()).hexdigest()


class TokenCache:
    """Tokens by cache key; backed by a JSON file when `path` is given, in memory otherwise."""

    def __init__(self, path: Path | None = None, clock=time.time):
        self.path = path
        self._clock = clock
        self._entries: dict[str, dict] | None = None
        self._lock = threading.Lock()  # a listing asks its search pages from several threads

    def get(self, cache_key: str) -> str | None:
        entry = self._load().get(cache_key)
        if not entry or entry.get("expires_at", 0) - RENEW_BEFORE_EXPIRY_SECONDS <= self._clock():
            return None
        return entry.get("token")

    def put(self, cache_key: str, token: str, expires_in: int | float | None) -> None:
        """Store a token; one without a lifetime is treated as already expired and not kept."""
        if not expires_in or expires_in <= RENEW_BEFORE_EXPIRY_SECONDS:
            return
        with self._lock:
            entries = self._load()
            entries[cache_key] = {"token": token, "expires_at": self._clock() + float(expires_in)}
            self._save()

    def drop(self, cache_key: str) -> None:
        with self._lock:
            if self._load().pop(cache_key, None) is not None:
                self._save()

    def clear(self) -> None:
        self._entries = {}
        if self.path is not None and self.path.exists():
            self.path.unlink()

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            self._entries = self._read_file()
        return self._entries

    def _read_file(self) -> dict[str, dict]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError, RecursionError):
            return {}  # a damaged cache only costs a token request
        return {key: value for key, value in data.items() if _valid_entry(value)} if isinstance(data, dict) else {}

    def _save(self) -> None:
        if self.path is None:
            return
        now = self._clock()
        live = {key: entry for key, entry in self._load().items() if entry.get("expires_at", 0) > now}
        write_private_file(self.path, json.dumps(live, indent=2))


def _valid_entry(value: object) -> bool:
    """An entry as `put` writes it; anything else in a hand-edited or damaged file is ignored."""
    if not isinstance(value, dict) or not isinstance(value.get("token"), str):
        return False
    expires_at = value.get("expires_at")
    return isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool) and math.isfinite(expires_at)


def write_private_file(path: Path, text: str) -> None:
    """Write `text` atomically to a file only the owner can read (0600), creating its directory (0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as stream:
            stream.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
