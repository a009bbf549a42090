"""Issue 2's refusals through the installed `ngc`: roles, other teams, rotated keys, bad configuration."""

from __future__ import annotations

import pytest

from .test_cli_identity import failed, ok, unique

pytestmark = [pytest.mark.e2e, pytest.mark.shared_registry]


@pytest.fixture
def user_key(ngc, registry):
    email = f"{unique('user')}@example.com"
    ok(ngc("org", "add-user", email, "Plain User", "--role", "REGISTRY_WRITE_USER_ROLE", "--org", registry.org,
           key=registry.admin_key))
    return registry.new_key(email)


def test_user_role_may_not_add_teams_or_users(ngc, registry, user_key):
    err = failed(ngc("org", "add-team", unique("t"), "T", "--org", registry.org, key=user_key))
    assert err.startswith("Error: Access denied") and "add teams" in err
    err = failed(ngc("org", "add-user", f"{unique('x')}@example.com", "X", "--org", registry.org, key=user_key))
    assert err.startswith("Error: Access denied")
    assert ok(ngc("user", "who", "--org", registry.org, key=user_key))


def test_team_admin_may_not_act_on_another_team(ngc, registry):
    own, other = unique("own"), unique("other")
    admin = dict(key=registry.admin_key)
    for team in (own, other):
        ok(ngc("org", "add-team", team, "T", "--org", registry.org, **admin))
    lead, member = f"{unique('lead')}@example.com", f"{unique('m')}@example.com"
    ok(ngc("org", "add-user", lead, "Lead", "--team", own, "--role", "REGISTRY_WRITE_TEAM_ADMIN", "--org", registry.org,
           **admin))
    ok(ngc("org", "add-user", member, "Member", "--team", "no-team", "--org", registry.org, **admin))
    lead_key = registry.new_key(lead)
    err = failed(ngc("team", "add-user", member, "Member", "--team", other, "--role", "REGISTRY_WRITE_USER_ROLE",
                     "--org", registry.org, key=lead_key))
    assert err.startswith("Error: ")
    listed = ngc("team", "list-users", "--team", other, "--org", registry.org, key=lead_key)
    assert listed.returncode == 1


def test_regenerated_key_makes_the_old_one_fail(ngc, registry):
    email = f"{unique('rot')}@example.com"
    ok(ngc("org", "add-user", email, "Rotating", "--org", registry.org, key=registry.admin_key))
    old = registry.new_key(email)
    ok(ngc("user", "who", "--org", registry.org, key=old))
    new = registry.new_key(email)
    assert failed(ngc("user", "who", "--org", registry.org, key=old)).strip() == "Error: Invalid API key"
    ok(ngc("user", "who", "--org", registry.org, key=new))


def test_unknown_org_and_team(ngc, registry):
    err = failed(ngc("org", "info", "no-such-org", key=registry.admin_key))
    assert "no-such-org" in err
    err = failed(ngc("team", "info", "no-such-team", "--org", registry.org, key=registry.admin_key))
    assert "no-such-team" in err


def test_bad_team_name(ngc, registry):
    err = failed(ngc("org", "add-team", "bad name!", "x", "--org", registry.org, key=registry.admin_key))
    assert "Invalid team name" in err


def test_malformed_config_file(ngc):
    config = ngc.home / ".ngc" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("this is [not an ini file\n")
    err = failed(ngc("user", "who"))
    assert str(config) in err and len(err.strip().splitlines()) == 1
