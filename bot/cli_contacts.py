"""`surveybot contacts`: load an audience of contacts from CSV."""

from __future__ import annotations

import typer

contacts_app = typer.Typer(help="Manage contacts (the people surveys go to).", no_args_is_help=True)
