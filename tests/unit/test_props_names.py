"""Property tests of the name parsers: targets `org/[team/]name[:version]`, OCI names, tags, digests, Content-Range.

Each parser either returns a value that satisfies its grammar exactly (no trailing newline, no look-alike digits)
or raises the product's own error; nothing else escapes, whatever the input.
"""

from __future__ import annotations

import re
import string

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ngc_registry.client import oci_reference, oci_upload
from ngc_registry.errors import InvalidNameError, RegistryError
from ngc_registry.refs import (
    Target,
    normalize_team_name,
    parse_target,
    validate_artifact_name,
    validate_email,
    validate_org_name,
    validate_version,
)
from ngc_registry.server.services import images, images_blobs

FAST = settings(max_examples=100, deadline=None, database=None)
ORG = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,20}\Z")
TEAM = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,20}\Z")
NAME = st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,30}\Z")
VERSION = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.+-]{0,30}\Z")
HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
NASTY = st.sampled_from(["\n", "\r", "\x00", " ", "\t", "\u0663", "\uff10", "/", "..", ":", "@", "\u200b"])


def nasty_text(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value with something hostile added at the start, the end or in the middle."""
    return st.tuples(base, NASTY, st.integers(0, 2)).map(
        lambda t: [t[1] + t[0], t[0] + t[1], t[0][:1] + t[1] + t[0][1:]][t[2]])


@FAST
@given(ORG, st.one_of(st.none(), TEAM), NAME, st.one_of(st.none(), VERSION))
def test_a_valid_target_round_trips(org, team, name, version):
    target = Target(org, team, name, version)
    assert parse_target(str(target)) == target


@FAST
@given(st.text(max_size=200))
@example("a/b:1\n")
@example("a/b:1\x00")
def test_parse_target_returns_a_clean_version_or_refuses(text):
    try:
        target = parse_target(text)
    except InvalidNameError:
        return
    assert target.version is None or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}", target.version)
    assert all(part and "/" not in part for part in (target.org, target.name))


@FAST
@given(st.one_of(nasty_text(NAME), st.text(max_size=150)))
@example("model\n")
def test_artifact_names_are_exactly_the_grammar(text):
    ok = re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,127}", text) is not None
    try:
        assert validate_artifact_name(text) == text and ok
    except InvalidNameError:
        assert not ok


@FAST
@given(st.one_of(nasty_text(VERSION), st.text(max_size=150)))
@example("1\n")
@example("../../etc")
def test_versions_are_exactly_the_grammar(text):
    ok = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}", text) is not None
    try:
        assert validate_version(text) == text and ok
    except InvalidNameError:
        assert not ok


@FAST
@given(st.one_of(nasty_text(ORG), st.text(max_size=80)))
@example("acme\n")
def test_org_names_are_exactly_the_grammar(text):
    try:
        validate_org_name(text)
    except InvalidNameError:
        return
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", text)


@FAST
@given(st.text(max_size=80))
def test_team_names_normalise_into_the_grammar(text):
    try:
        name = normalize_team_name(text)
    except InvalidNameError:
        return
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", name)
    assert normalize_team_name(name) == name


@FAST
@given(st.text(max_size=300))
@example("a@b.c\n")
def test_emails_have_no_whitespace_or_slashes(text):
    try:
        email = validate_email(text)
    except InvalidNameError:
        return
    assert email == email.strip().lower() and not set(email) & set(string.whitespace + "/\\")


# -- OCI: repository names, tags, digests ---------------------------------------------------------------------

@FAST
@given(st.one_of(st.text(max_size=300), st.builds("/".join, st.lists(nasty_text(NAME), min_size=1, max_size=4))))
@example("acme/img\n")
def test_server_repository_names_are_oci_components(name):
    try:
        org, team, image = images.split_name(name)
    except RegistryError:
        return
    component = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
    assert all(re.fullmatch(component, part) for part in (org, image) + ((team,) if team else ()))
    assert len(name) <= images.MAX_NAME_LENGTH


@FAST
@given(st.one_of(nasty_text(st.from_regex(r"\A[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}\Z")), st.text(max_size=150)))
@example("v1\n")
def test_server_and_client_agree_on_tags(tag):
    ok = re.fullmatch(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", tag) is not None
    assert images.is_valid_tag(tag) == ok
    try:
        assert oci_reference.validate_tag(tag) == tag and ok
    except InvalidNameError:
        assert not ok


@FAST
@given(st.one_of(st.text(max_size=140), nasty_text(HEX64.map("sha256:".__add__))))
@example("sha256:" + "a" * 64 + "\n")
def test_server_and_client_agree_on_digests(text):
    ok = re.fullmatch(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}", text) is not None
    try:
        assert images_blobs.parse_digest(text) == text and ok
    except RegistryError:
        assert not ok
    try:
        assert oci_reference.validate_digest(text) == text and ok
    except InvalidNameError:
        assert not ok


@FAST
@given(ORG, st.one_of(st.none(), TEAM), NAME,
       st.one_of(st.none(), st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9._-]{0,20}\Z"), HEX64))
def test_client_image_references_round_trip(org, team, name, reference):
    assume_components = all(re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", p) for p in (org, name))
    if not assume_components:
        return
    text = "/".join(p for p in (org, team, name) if p)
    if reference is not None:
        text += f"@sha256:{reference}" if len(reference) == 64 and set(reference) <= set("0123456789abcdef") \
            else f":{reference}"
    ref = oci_reference.parse_image_ref(text)
    assert str(oci_reference.parse_image_ref(str(ref))) == str(ref)
    assert ref.repository == "/".join(p for p in (org, team and normalize_team_name(team), name) if p)


@FAST
@given(st.text(max_size=200))
def test_client_image_references_refuse_or_parse_cleanly(text):
    try:
        ref = oci_reference.parse_image_ref(text)
    except InvalidNameError:
        return
    assert ref.reference and "\n" not in str(ref)


# -- Content-Range (OCI chunked uploads) ----------------------------------------------------------------------

@FAST
@given(st.integers(0, 2**62), st.integers(0, 2**40))
def test_content_range_round_trips_between_client_and_server(start, length):
    if length == 0:
        return
    header = oci_upload.content_range(start, length)
    assert images_blobs.parse_content_range(header) == (start, start + length - 1)


@FAST
@given(st.text(max_size=60))
@example("\u0661-\u0662")
@example("0-1\n")
@example("5-4")
def test_content_range_parsing_refuses_anything_but_ascii_ranges(header):
    try:
        parsed = images_blobs.parse_content_range(header)
    except RegistryError as error:
        assert error.status == 416
        return
    start, end = parsed
    assert 0 <= start <= end
    assert re.fullmatch(r"(?:bytes[ =])?[0-9]+-[0-9]+(?:/(?:[0-9]+|\*))?", header.strip())


@FAST
@given(st.text(max_size=60))
@example("0-\u0665")
def test_client_reads_only_ascii_upload_offsets(header):
    try:
        offset = oci_upload.next_offset(header)
    except RegistryError:
        return
    assert offset >= 0
    if offset:
        assert re.fullmatch(r"(?:bytes=)?[0-9]+-[0-9]+", header.strip())
