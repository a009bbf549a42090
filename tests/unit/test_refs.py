from __future__ import annotations

import pytest

from ngc_registry.errors import InvalidNameError
from ngc_registry.refs import Target, is_ngc_path, normalize_team_name, parse_target, validate_email, validate_org_name


@pytest.mark.parametrize("text,expected", [
    ("nvidia/model", Target("nvidia", None, "model")),
    ("nvidia/team_a/cmr_gnmt:1", Target("nvidia", "team_a", "cmr_gnmt", "1")),
    ("o/t/m:v1.2-rc", Target("o", "t", "m", "v1.2-rc")),
])
def test_parse_target(text, expected):
    assert parse_target(text) == expected
    assert str(parse_target(text)) == text


@pytest.mark.parametrize("text", ["model", "a/b/c/d", "/a", "a//b", "a/b:", "a/b:../x", "a/b: v"])
def test_bad_targets(text):
    with pytest.raises(InvalidNameError):
        parse_target(text)


def test_version_rules():
    with pytest.raises(InvalidNameError):
        parse_target("a/b", version_required=True)
    with pytest.raises(InvalidNameError):
        parse_target("a/b:1", version_allowed=False)


@pytest.mark.parametrize("name,expected", [("team_a", "team-a"), ("Team_A", "team-a"), (" t1 ", "t1")])
def test_team_normalisation(name, expected):
    assert normalize_team_name(name) == expected


@pytest.mark.parametrize("name", ["", "-a", "a b", "a/b", "é", "x" * 64])
def test_bad_team_names(name):
    with pytest.raises(InvalidNameError):
        normalize_team_name(name)


@pytest.mark.parametrize("name", ["org", "search", "_catalog", "Nvidia", "a b"])
def test_bad_org_names(name):
    with pytest.raises(InvalidNameError):
        validate_org_name(name)


def test_email():
    assert validate_email(" J@Example.COM ") == "j@example.com"
    with pytest.raises(InvalidNameError):
        validate_email("no-at-sign")


@pytest.mark.parametrize("path,ngc", [
    ("/v2/", False), ("/v2/_catalog", False), ("/v2/acme/img/manifests/latest", False),
    ("/v2/org/acme/teams", True), ("/v2/orgs", True), ("/v2/search/catalog/resources/MODEL", True),
    ("/token", True), ("/roles", True)])
def test_path_grammar(path, ngc):
    assert is_ngc_path(path) is ngc
