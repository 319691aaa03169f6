"""`surveybot campaigns`: relationship surveys on a schedule."""

from __future__ import annotations

import typer

campaigns_app = typer.Typer(
    help="Relationship campaigns: a survey, an audience and a cadence.", no_args_is_help=True
)
