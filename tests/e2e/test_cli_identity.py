"""The installed `ngc` against a real server: config, user, org, team and diag commands (guide chapters 3, 4, 7)."""

from __future__ import annotations

import csv
import io
import json
import stat
import uuid

import httpx
import pytest

from .conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.shared_registry]


def ok(result):
    assert result.returncode == 0, f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def failed(result, exit_code=1):
    assert result.returncode == exit_code, f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stderr


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def block_values(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def personal_key(registry, name: str) -> str:
    basic = httpx.BasicAuth("$oauthtoken", registry.admin_key)
    token = httpx.get(f"{registry.url}/token", params={"service": "ngc"}, auth=basic).json()["token"]
    response = httpx.post(f"{registry.url}/v3/keys", json={"name": name, "expiryDays": 1},
                          headers={"Authorization": f"Bearer {token}", "nv-ngc-org": registry.org})
    assert response.status_code == 200, response.text
    return response.json()["key"]["apiKey"]


# -- config ---------------------------------------------------------------------------------------------------

def test_config_set_interactive_then_current(ngc, registry):
    out = ok(ngc("config", "set", input=f"{registry.admin_key}\n\n\n\n"))
    assert "Enter API key [no-apikey]. Choices: ['<VALID_APIKEY>', 'no-apikey']: " in out
    assert "Enter CLI output format type [ascii]. Choices: ['ascii', 'csv', 'json']: " in out
    assert f"Enter org [{registry.org}]. Choices: [" in out and f"({registry.org})" in out
    assert "Enter team [no-team]. Choices: [" in out and "'no-team']" in out
    config = ngc.home / ".ngc" / "config"
    assert out.rstrip().endswith(f"Successfully saved NGC configuration to {config}")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    current = ok(ngc("config", "current"))
    assert f"****{registry.admin_key[-4:]}" in current and registry.admin_key not in current
    assert "user settings" in current and registry.org in current


def test_config_set_with_flags(ngc, registry):
    ok(ngc("config", "set", "--apikey", registry.admin_key, "--org", registry.org, "--format_type", "json"))
    rows = {row["key"]: row for row in json.loads(ok(ngc("config", "current")))}
    assert rows["org"] == {"key": "org", "value": registry.org, "source": "user settings"}
    assert rows["format_type"]["value"] == "json"
    assert rows["apikey"]["value"] == f"****{registry.admin_key[-4:]}"


def test_config_set_rejects_an_org_the_key_does_not_have(ngc, registry):
    err = failed(ngc("config", "set", "--apikey", registry.admin_key, "--org", "no-such-org"))
    assert "Invalid org 'no-such-org'" in err


def test_config_clear(ngc, registry):
    ok(ngc("config", "set", "--apikey", registry.admin_key, "--org", registry.org))
    assert ok(ngc("config", "clear")).strip() == "Successfully cleared NGC configuration."
    assert not (ngc.home / ".ngc" / "config").exists()


# -- wrong key ------------------------------------------------------------------------------------------------

def test_wrong_key_in_config_set_by_flag(ngc, registry):
    err = failed(ngc("config", "set", "--apikey", "not-a-real-key"))
    assert err.strip() == f"Error: Invalid API key for NGC service location [{registry.url}]."
    assert not (ngc.home / ".ngc" / "config").exists()


def test_wrong_key_in_interactive_config_set_fails_instead_of_looping(ngc, registry):
    err = failed(ngc("config", "set", input="not-a-real-key\nnot-a-real-key\n"))
    assert "Invalid API key" in err


def test_wrong_key_on_a_command(ngc):
    assert failed(ngc("org", "list", key="not-a-real-key")).strip() == "Error: Invalid API key"


# -- user and org -----------------------------------------------------------------------------------------------

def test_user_who_prints_user_org_roles_and_team_roles(ngc, registry):
    out = ok(ngc("user", "who", "--org", registry.org, key=registry.admin_key))
    for header in ("| User Id", "| Email", "| Org ", "| Org Roles", "| Team ", "| Team Roles"):
        assert header in out
    assert "admin@example.com" in out and "REGISTRY_WRITE_ADMIN" in out


def test_user_who_json_prints_the_user_object(ngc, registry):
    user = json.loads(ok(ngc("--format_type", "json", "user", "who", key=registry.admin_key)))
    assert user["email"] == "admin@example.com" and isinstance(user["id"], int) and user["roles"]


def test_user_who_with_a_personal_key(ngc, registry):
    key = personal_key(registry, unique("who"))
    assert key.startswith("nvapi-")
    user = json.loads(ok(ngc("user", "who", "--format_type", "json", key=key)))
    assert user["email"] == "admin@example.com"


def test_org_list_and_info_in_every_format(ngc, registry):
    ascii_out = ok(ngc("org", "list", key=registry.admin_key))
    assert "| Name" in ascii_out and "| Display Name" in ascii_out and registry.org in ascii_out
    rows = list(csv.reader(io.StringIO(ok(ngc("org", "list", "--format_type", "csv", key=registry.admin_key)))))
    assert rows[0] == ["Name", "Display Name", "Description", "Type"] and registry.org in [row[0] for row in rows]
    orgs = json.loads(ok(ngc("--format_type", "json", "org", "list", key=registry.admin_key)))
    assert registry.org in [org["name"] for org in orgs]
    info = ok(ngc("org", "info", registry.org, key=registry.admin_key))
    assert "Org Information" in info and block_values(info)["Name"] == registry.org


def test_add_team_as_the_guide_shows(ngc, registry):
    out = ok(ngc("--org", registry.org, "org", "add-team", "team_a", "Team A", key=registry.admin_key))
    lines = out.splitlines()
    assert lines[:2] == ["Team created.", ""] and set(lines[2]) == {"-"} and lines[3] == "Team Information"
    values = block_values(out)
    assert values["Name"] == "team-a" and values["Description"] == "Team A" and values["Deleted"] == "False"
    assert values["Id"].isdigit()


def test_add_team_twice_is_an_error(ngc, registry):
    team = unique("dup")
    ok(ngc("org", "add-team", team, "Dup", "--org", registry.org, key=registry.admin_key))
    assert failed(ngc("org", "add-team", team, "Dup", "--org", registry.org, key=registry.admin_key)).startswith(
        "Error: ")


def test_org_add_user_to_a_team_then_team_admin_adds_a_user(ngc, registry):
    team, admin_email, member_email = unique("team"), f"{unique('lead')}@example.com", f"{unique('dev')}@example.com"
    as_admin = dict(key=registry.admin_key)
    ok(ngc("org", "add-team", team, "Team", "--org", registry.org, **as_admin))
    out = ok(ngc("org", "add-user", admin_email, "Team Lead", "--team", team, "--role", "REGISTRY_WRITE_TEAM_ADMIN",
                 "--org", registry.org, **as_admin))
    assert f"User '{admin_email}' added to team '{team}' as 'REGISTRY_WRITE_TEAM_ADMIN'." in out
    assert "User Information" in out and block_values(out)["Email"] == admin_email

    ok(ngc("org", "add-user", member_email, "Developer", "--org", registry.org, **as_admin))
    lead_key = registry.new_key(admin_email)
    new_to_org = f"{unique('new')}@example.com"
    err = failed(ngc("team", "add-user", new_to_org, "New", "--team", team, "--org", registry.org, key=lead_key))
    assert err.startswith("Error: Access denied")
    out = ok(ngc("team", "add-user", member_email, "Developer", "--team", team, "--role", "REGISTRY_WRITE_USER_ROLE",
                 "--org", registry.org, key=lead_key))
    assert out.splitlines()[:2] == [f"Added user to team '{team}'.",
                                    f"User '{member_email}' added to team '{team}' as 'REGISTRY_WRITE_USER_ROLE'."]
    users = json.loads(ok(ngc("team", "list-users", "--team", team, "--org", registry.org, "--format_type", "json",
                              key=lead_key)))
    assert {user["email"] for user in users} == {admin_email, member_email}

    err = failed(ngc("org", "add-team", unique("nope"), "x", "--org", registry.org, key=lead_key))
    assert err.startswith("Error: ")


def test_org_add_user_to_the_org_and_list_users(ngc, registry):
    email = f"{unique('org')}@example.com"
    out = ok(ngc("org", "add-user", email, "Org User", "--org", registry.org, key=registry.admin_key))
    assert f"User '{email}' added to org '{registry.org}' as 'REGISTRY_WRITE_USER_ROLE'." in out
    again = failed(ngc("org", "add-user", email, "Org User", "--org", registry.org, key=registry.admin_key))
    assert again.startswith("Error: ")
    rows = list(csv.DictReader(io.StringIO(ok(ngc("org", "list-users", "--org", registry.org, "--format_type", "csv",
                                                  key=registry.admin_key)))))
    assert set(rows[0]) == {"Id", "Name", "Email", "Roles", "Created Date"}
    assert any(row["Email"] == email and row["Roles"] == "REGISTRY_WRITE_USER_ROLE" for row in rows)


def test_unknown_role_is_rejected_by_the_server(ngc, registry):
    err = failed(ngc("org", "add-user", f"{unique('r')}@example.com", "R", "--role", "NO_SUCH_ROLE",
                     "--org", registry.org, key=registry.admin_key))
    assert err.startswith("Error: ") and err.count("\n") == 1


def test_team_list_info_and_remove_user(ngc, registry):
    team, email = unique("info"), f"{unique('gone')}@example.com"
    as_admin = dict(key=registry.admin_key)
    ok(ngc("org", "add-team", team, "Info Team", "--org", registry.org, **as_admin))
    rows = list(csv.reader(io.StringIO(ok(ngc("team", "list", "--org", registry.org, "--format_type", "csv",
                                              **as_admin)))))
    assert rows[0] == ["Id", "Name", "Description"] and team in [row[1] for row in rows]
    info = block_values(ok(ngc("team", "info", team, "--org", registry.org, **as_admin)))
    assert info["Name"] == team and info["Description"] == "Info Team"
    ok(ngc("team", "add-user", email, "Gone", "--team", team, "--org", registry.org, **as_admin))
    ok(ngc("team", "remove-user", email, "--team", team, "--org", registry.org, **as_admin))
    users = json.loads(ok(ngc("team", "list-users", "--team", team, "--org", registry.org, "--format_type", "json",
                              **as_admin)))
    assert email not in [user["email"] for user in users]


def test_team_commands_need_an_org(ngc, registry):
    assert "No org given" in failed(ngc("team", "list", key=registry.admin_key))


# -- diag -----------------------------------------------------------------------------------------------------

DIAG_ITEMS = ("Current time", "Operating system", "Disk usage", "Current directory size", "Memory usage",
              "NGC CLI environment variables set", "API gateway connectivity",
              "API connectivity to the container registry", "API connectivity to the model registry", "External IP",
              "NGC CLI configuration values", "User information", "User org roles", "User team roles",
              "CLI version", "Python version", "Install path")


def test_diag_all(ngc, registry):
    out = ok(ngc("diag", "all", "--org", registry.org, key=registry.admin_key))
    values = block_values(out)
    for item in DIAG_ITEMS:
        assert item in values, item
    assert values["API gateway connectivity"].startswith("ok")
    assert values["API connectivity to the container registry"].startswith("ok")
    assert values["API connectivity to the model registry"] == "ok"
    assert values["External IP"] == "127.0.0.1"
    assert "admin@example.com" in values["User information"]
    assert "REGISTRY_WRITE_ADMIN" in values["User org roles"]
    assert registry.admin_key not in out and f"****{registry.admin_key[-4:]}" in values["NGC CLI environment variables set"]


def test_diag_with_the_server_down(ngc, registry):
    down = f"http://127.0.0.1:{free_port()}"
    result = ngc("diag", key=registry.admin_key, env={"NGC_CLI_API_URL": down})
    err = failed(result)
    values = block_values(result.stdout)
    for item in ("Current time", "Operating system", "Disk usage", "Memory usage", "CLI version"):
        assert item in values
    assert values["API gateway connectivity"] == "failed (connection refused)"
    assert values["User information"] == "failed (connection refused)"
    assert err.startswith("Error: Diagnostics found")


def test_diag_json(ngc, registry):
    report = json.loads(ok(ngc("diag", "server", "--format_type", "json", key=registry.admin_key)))
    assert list(report) == ["server"] and report["server"]["External IP"] == "127.0.0.1"


def test_connection_refused_is_one_sentence(ngc, registry):
    down = f"http://127.0.0.1:{free_port()}"
    err = failed(ngc("org", "list", key=registry.admin_key, env={"NGC_CLI_API_URL": down}))
    assert err == f"Error: Unable to connect to the server at {down}: connection refused.\n"


# -- tokens ---------------------------------------------------------------------------------------------------

def test_tokens_are_cached_privately_and_a_stale_one_is_replaced(ngc, registry):
    ok(ngc("org", "list", key=registry.admin_key))
    cache = ngc.home / ".ngc" / "tokens.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600 and registry.admin_key not in cache.read_text()
    entries = json.loads(cache.read_text())
    for entry in entries.values():
        entry["token"] = "revoked-or-forged-token"
    cache.write_text(json.dumps(entries))
    ok(ngc("org", "list", key=registry.admin_key))
    assert "revoked-or-forged-token" not in cache.read_text()


def test_config_set_with_a_personal_key(ngc, registry):
    key = personal_key(registry, unique("cfg"))
    ok(ngc("config", "set", "--apikey", key, "--org", registry.org))
    assert not (ngc.home / ".ngc" / "tokens.json").exists()
    assert "admin@example.com" in ok(ngc("user", "who"))
