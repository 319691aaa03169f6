"""The `surveybot` command line: the commands gathered from one module per command group."""

from __future__ import annotations

import typer

from bot.cli.alerts import alerts_app
from bot.cli.apikeys import apikey_app
from bot.cli.campaigns import campaigns_app
from bot.cli.comments import comments, themes
from bot.cli.contacts import contacts_app
from bot.cli.digests import digests_app
from bot.cli.exports import export_app
from bot.cli.imports import import_app
from bot.cli.invitations import invitations_app
from bot.cli.reports import report
from bot.cli.retention import retention_app
from bot.cli.serve import serve, worker
from bot.cli.surveys import surveys_app
from bot.cli.try_ import try_
from bot.cli.webhooks import webhooks_app

app = typer.Typer(
    help="surveybot: CSAT, NPS and CES surveys over chat, SMS, email and the web.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve)
app.command()(worker)
app.add_typer(surveys_app, name="surveys")
app.add_typer(apikey_app, name="apikey")
app.add_typer(import_app, name="import")
app.add_typer(contacts_app, name="contacts")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(invitations_app, name="invitations")
app.command()(report)
app.command()(comments)
app.command()(themes)
app.add_typer(export_app, name="export")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(alerts_app, name="alerts")
app.add_typer(digests_app, name="digests")
app.add_typer(retention_app, name="retention")
app.command(name="try")(try_)


def main() -> None:
    app()
