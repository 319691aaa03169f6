"""Fixtures of the CLI tests: an SQLite database (`env`) and the example surveys loaded into it."""

from tests.bot.cli.cli_env import env, loaded

__all__ = ["env", "loaded"]
