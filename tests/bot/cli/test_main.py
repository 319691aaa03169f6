"""The `surveybot` command line: every command is gathered and has help."""

from __future__ import annotations

from tests.bot.cli.cli_env import invoke


def test_every_command_has_help(env: dict[str, str]) -> None:
    for command in (
        ["serve"],
        ["surveys", "load"],
        ["apikey", "create"],
        ["import", "responses"],
        ["report"],
    ):
        code, out, _ = invoke(env, *command, "--help")
        assert code == 0 and "Usage" in out
