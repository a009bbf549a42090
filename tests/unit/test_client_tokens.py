"""Token cache: keyed by sha256 of [key, org, team], renewed 300 s before expiry, file mode 0600."""

from __future__ import annotations

import hashlib
import json
import stat

from ngc_registry.client.tokens import TokenCache, is_personal_key, token_cache_key


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_cache_key_is_sha256_of_key_org_team():
    expected = hashlib.sha256(json.dumps(["k", "o", None]).encode()).hexdigest()
    assert token_cache_key("k", "o", None) == expected
    assert token_cache_key("k", "o", "t") != expected


def test_token_is_used_until_300_seconds_before_expiry(tmp_path):
    clock = Clock()
    cache = TokenCache(tmp_path / "tokens.json", clock=clock)
    cache.put("id", "tok", 3600)
    clock.now += 3600 - 301
    assert cache.get("id") == "tok"
    clock.now += 2
    assert cache.get("id") is None


def test_file_is_private_and_holds_no_key(tmp_path):
    path = tmp_path / ".ngc" / "tokens.json"
    TokenCache(path).put(token_cache_key("secret-api-key", None, None), "tok", 3600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "secret-api-key" not in path.read_text()
    assert TokenCache(path).get(token_cache_key("secret-api-key", None, None)) == "tok"


def test_token_without_lifetime_is_not_kept(tmp_path):
    cache = TokenCache(tmp_path / "tokens.json")
    cache.put("id", "tok", None)
    assert cache.get("id") is None and not (tmp_path / "tokens.json").exists()


def test_drop_and_clear(tmp_path):
    path = tmp_path / "tokens.json"
    cache = TokenCache(path)
    cache.put("a", "1", 3600)
    cache.put("b", "2", 3600)
    cache.drop("a")
    assert TokenCache(path).get("a") is None and TokenCache(path).get("b") == "2"
    cache.clear()
    assert not path.exists()


def test_damaged_file_is_ignored(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    assert TokenCache(path).get("x") is None


def test_personal_key_prefix():
    assert is_personal_key("nvapi-abc") and not is_personal_key("legacy") and not is_personal_key(None)
