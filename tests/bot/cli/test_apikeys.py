"""`surveybot apikey create | list | revoke`: scopes, the listing, revoking by name."""

from __future__ import annotations

import json

from tests.bot.cli.cli_env import invoke


def test_apikey_create_prints_key_last(env: dict[str, str]) -> None:
    code, out, _ = invoke(env, "apikey", "create", "helpdesk")
    assert code == 0 and out.strip().splitlines()[-1].startswith("sb_")


def listed(env: dict[str, str]) -> list[dict[str, object]]:
    code, out, err = invoke(env, "apikey", "list", "--json")
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_scopes_are_repeatable_and_default_to_admin(env: dict[str, str]) -> None:
    code, _, err = invoke(env, "apikey", "create", "helpdesk", "--scope", "triggers")
    assert code == 0 and "(triggers) created" in err
    code, _, _ = invoke(env, "apikey", "create", "crm", "--scope", "read", "--scope", "triggers")
    assert code == 0
    assert invoke(env, "apikey", "create", "ops")[0] == 0
    assert [(row["name"], row["scopes"]) for row in listed(env)] == [
        ("helpdesk", ["triggers"]),
        ("crm", ["triggers", "read"]),
        ("ops", ["admin"]),
    ]


def test_an_unknown_scope_or_bad_name_exits_1_naming_it(env: dict[str, str]) -> None:
    code, out, err = invoke(env, "apikey", "create", "helpdesk", "--scope", "write")
    assert code == 1 and "unknown scope 'write'" in err and "triggers, read, admin" in err
    assert "sb_" not in out
    code, _, err = invoke(env, "apikey", "create", "a/b")
    assert code == 1 and "name must be 1 to 100 letters" in err
    assert listed(env) == []


def test_list_shows_name_prefix_scopes_and_times(env: dict[str, str]) -> None:
    code, out, _ = invoke(env, "apikey", "list")
    assert code == 0 and "no API keys yet" in out
    key = invoke(env, "apikey", "create", "Zendesk help desk", "--scope", "read")[1].split()[-1]
    assert invoke(env, "apikey", "revoke", "Zendesk help desk")[0] == 0
    code, out, err = invoke(env, "apikey", "list")
    assert code == 0, err
    header = out.splitlines()[1]
    for column in ("name", "prefix", "scopes", "created", "last used", "revoked"):
        assert column in header
    assert "Zendesk help" in out and key[:10] in out and key not in out  # wrapped, not cut
    (row,) = listed(env)
    assert row["prefix"] == key[:10] and row["last_used_at"] is None and row["revoked_at"]


def test_revoke_counts_what_it_revoked_and_refuses_unknown_names(env: dict[str, str]) -> None:
    for _ in range(2):
        invoke(env, "apikey", "create", "helpdesk", "--scope", "triggers")
    invoke(env, "apikey", "create", "ops")
    code, out, _ = invoke(env, "apikey", "revoke", "helpdesk")
    assert code == 0 and "revoked 2 API keys named 'helpdesk'" in out
    code, out, _ = invoke(env, "apikey", "revoke", "ops")
    assert code == 0 and "revoked API key named 'ops'" in out
    code, _, err = invoke(env, "apikey", "revoke", "helpdesk")
    assert code == 1 and "no active API key is named 'helpdesk'" in err
    code, _, err = invoke(env, "apikey", "revoke", "nobody")
    assert code == 1 and "'nobody'" in err
    assert all(row["revoked_at"] for row in listed(env))
