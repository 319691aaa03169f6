"""`surveybot apikey create`: the new key is printed last."""

from __future__ import annotations

from tests.bot.cli.cli_env import invoke


def test_apikey_create_prints_key_last(env: dict[str, str]) -> None:
    code, out, _ = invoke(env, "apikey", "create", "helpdesk")
    assert code == 0 and out.strip().splitlines()[-1].startswith("sb_")
