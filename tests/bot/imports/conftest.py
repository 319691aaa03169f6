"""Fixtures of the import tests: the CLI's SQLite database (`env`) with the surveys loaded."""

from tests.bot.cli.cli_env import env, loaded

__all__ = ["env", "loaded"]
