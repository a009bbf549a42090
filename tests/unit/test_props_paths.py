"""File paths inside versions: the server refuses path tricks, and the client never writes outside `--dest`,
whatever path a server sends. Also: signed storage URLs, where changing any character of the URL is a 403."""

from __future__ import annotations

import os
import posixpath
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ngc_registry.client.transfer_plan import PARTIAL_DIR, UnsafePathError, check_relative_path, local_path
from ngc_registry.errors import ForbiddenError, RegistryError
from ngc_registry.server.auth import signed_urls
from ngc_registry.server.services.artifacts import MAX_PATH_BYTES, validate_file_path

FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# Pieces that make paths hostile: traversal, roots, separators and their Unicode look-alikes, controls, invisibles.
TRICKS = ["..", ".", "", "/", "\\", "\x00", "\n", "\x7f", "\u202e", "\u200b", "\ufeff", "\u2215", "\u2044",
          "\uff0f", "\uff3c", "\uff0e\uff0e", "\u2024\u2024", "\ufe52\ufe52", "e\u0301", "\u00e9", "C:", "~",
          "\u0000..", "%2e%2e", "..\u200b", "\u1100\u1161"]
SEGMENT = st.one_of(st.sampled_from(TRICKS), st.text(min_size=1, max_size=12),
                    st.from_regex(r"\A[A-Za-z0-9_.-]{1,12}\Z"))
PATHS = st.one_of(st.lists(SEGMENT, min_size=1, max_size=6).map("/".join), st.text(max_size=60),
                  st.sampled_from(["/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "C:\\x", "x" * 2000]))
LOOK_ALIKES = {"\u2215", "\u2044", "\uff0f", "\uff3c", "\ufe68", "\u29f8", "\u29f9", "\uff0e", "\u2024", "\ufe52"}


def server_accepts(path: str) -> bool:
    try:
        return validate_file_path(path) == path
    except RegistryError as error:
        assert error.status == 400
        return False


@FAST
@given(PATHS)
@example("a/\uff0e\uff0e/b")
@example("a\u2215..\u2215b")
@example("e\u0301.bin")
def test_the_server_accepts_only_plain_relative_paths(path):
    if not server_accepts(path):
        return
    parts = path.split("/")
    assert not path.startswith("/") and all(part not in ("", ".", "..") for part in parts)
    assert posixpath.normpath(path) == path and len(path.encode()) <= MAX_PATH_BYTES
    assert unicodedata.normalize("NFC", path) == path
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in path)
    assert not set(path) & LOOK_ALIKES
    folded = unicodedata.normalize("NFKC", path)
    assert folded.count("/") == path.count("/") and ".." not in folded.split("/") and "\\" not in folded


@pytest.mark.parametrize("path", ["models/weights.bin", "a/b/c.txt", "v1.2/notes.md", "日本語/データ.bin",
                                  "x" * 200, ".hidden/config", "a..b/c"])
def test_ordinary_paths_pass(path):
    assert validate_file_path(path) == path


@FAST
@given(PATHS)
@example(PARTIAL_DIR + "/x")
@example("\u2215etc\u2215passwd")
def test_the_client_never_leaves_dest_whatever_the_server_sends(tmp_path, path):
    dest = tmp_path / "dest"
    dest.mkdir(exist_ok=True)
    try:
        target = local_path(dest, path)
    except UnsafePathError:
        return
    resolved = Path(os.path.realpath(target))
    assert dest.resolve() in resolved.parents
    assert resolved.relative_to(dest.resolve()).parts[0] != PARTIAL_DIR


def test_the_client_does_not_follow_a_symlink_out_of_dest(tmp_path):
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        local_path(dest, "link/file.bin")


@FAST
@given(PATHS)
def test_what_the_server_accepts_the_client_can_store(path):
    if server_accepts(path):
        assert check_relative_path(path) == path or path.split("/")[0] == PARTIAL_DIR


# -- signed storage URLs ---------------------------------------------------------------------------------------

SECRET = "s" * 64
TOKEN = signed_urls.sign(SECRET, "GET", {"d": "sha256:" + "0" * 64, "n": "file.bin", "s": 10}, 3600)
URL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(0, len(TOKEN) - 1), st.sampled_from(URL_CHARS))
@example(len(TOKEN) - 1, "A")
@example(len(TOKEN) - 1, "B")
def test_changing_any_character_of_a_signed_url_is_refused(position, char):
    if TOKEN[position] == char:
        return
    tampered = TOKEN[:position] + char + TOKEN[position + 1:]
    with pytest.raises(ForbiddenError):
        signed_urls.verify(SECRET, tampered, "GET")


@settings(max_examples=100, deadline=None, database=None)
@given(st.text(alphabet=URL_CHARS, max_size=4), st.sampled_from(["prefix", "suffix", "cut"]))
@example("=", "suffix")
def test_adding_or_removing_characters_is_refused(extra, where):
    if not extra and where != "cut":
        return
    tampered = {"prefix": extra + TOKEN, "suffix": TOKEN + extra, "cut": TOKEN[:-1 - len(extra)]}[where]
    with pytest.raises(ForbiddenError):
        signed_urls.verify(SECRET, tampered, "GET")


def test_a_signed_url_is_bound_to_its_operation_secret_and_expiry():
    assert signed_urls.verify(SECRET, TOKEN, "GET")["n"] == "file.bin"
    with pytest.raises(ForbiddenError):
        signed_urls.verify(SECRET, TOKEN, "PUT")
    with pytest.raises(ForbiddenError):
        signed_urls.verify("t" * 64, TOKEN, "GET")
    with pytest.raises(ForbiddenError):
        signed_urls.verify(SECRET, signed_urls.sign(SECRET, "GET", {"d": "x"}, -1), "GET")
