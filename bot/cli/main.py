"""The `surveybot` command line: serve, surveys, API keys, CSV import and reports."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli.campaigns import campaigns_app
from bot.cli.common import err, fail, load_settings, out, progress_bar, run
from bot.cli.contacts import contacts_app

app = typer.Typer(
    help="surveybot: CSAT, NPS and CES surveys over chat, SMS, email and the web.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
surveys_app = typer.Typer(help="Create and update survey definitions.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys for /api/v1.", no_args_is_help=True)
import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)
app.add_typer(surveys_app, name="surveys")
app.add_typer(apikey_app, name="apikey")
app.add_typer(import_app, name="import")
app.add_typer(contacts_app, name="contacts")
app.add_typer(campaigns_app, name="campaigns")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Worker processes sharing the port [default: 1]"),
    ] = None,
) -> None:
    """Run migrations, then the HTTP app, the outbox sender and every configured channel."""
    import os

    import uvicorn

    from bot.runtime.database import open_database

    settings = load_settings(host=host, port=port, workers=workers)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )

    async def migrate() -> None:
        engine, _ = await open_database(settings)
        await engine.dispose()

    run(migrate())
    # Worker processes read their settings from the environment: pass the options on.
    os.environ["SURVEYBOT_HOST"] = settings.host
    os.environ["SURVEYBOT_PORT"] = str(settings.port)
    from bot.wiring import registry

    channels_on = [wiring.name for wiring in registry.configured(settings)]
    out.print(
        f"surveybot on http://{settings.host}:{settings.port} "
        f"(database {_masked_url(settings.database_url)}; links to {settings.base_url()}; "
        f"{settings.workers} worker{'s' if settings.workers > 1 else ''}); "
        f"channels on: {', '.join(channels_on)}",
        highlight=False,
    )
    uvicorn.run(
        "bot.http.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
    )


@app.command()
def worker() -> None:
    """Run the outbox sender and the campaign scheduler without the HTTP app (for scale-out)."""
    from bot.runtime.services import Services
    from bot.startup.worker import run_worker

    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )

    def ready(services: Services) -> None:
        out.print(
            f"surveybot worker (database {_masked_url(settings.database_url)}); "
            f"channels on: {', '.join(sorted(services.channels_on))}",
            highlight=False,
        )

    run(run_worker(settings, ready=ready))


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@surveys_app.command("load")
def surveys_load(
    file: Annotated[Path, typer.Argument(help="A YAML file with a `surveys:` list")],
) -> None:
    """Create or update the surveys in FILE (all or none)."""
    from bot.runtime.database import open_database
    from bot.runtime.survey_files import SurveyFileError, load_surveys, read_survey_file

    settings = load_settings()
    try:
        surveys = read_survey_file(file)
    except SurveyFileError as exc:
        fail(str(exc))

    async def main() -> list[tuple[str, bool]]:
        engine, sessions = await open_database(settings)
        try:
            return await load_surveys(sessions, surveys)
        finally:
            await engine.dispose()

    for key, created in run(main()):
        out.print(f"{'created' if created else 'updated'} survey {key}", highlight=False)


@apikey_app.command("create")
def apikey_create(name: Annotated[str, typer.Argument(help="Who or what the key is for")]) -> None:
    """Create an API key; it is printed once, as the last line."""
    from bot.runtime.database import open_database
    from storage.uow import UnitOfWork

    if not name.strip() or len(name) > 100:
        fail("NAME must be 1 to 100 characters")
    settings = load_settings()

    async def main() -> str:
        engine, sessions = await open_database(settings)
        try:
            async with UnitOfWork(sessions) as uow:
                _, plain = await uow.api_keys.create(name.strip())
                await uow.commit()
                return plain
        finally:
            await engine.dispose()

    plain = run(main())
    err.print(f"API key {name!r} created; store it now, it is not shown again:", highlight=False)
    print(plain)


@import_app.command("responses")
def import_responses(
    file: Annotated[
        Path, typer.Argument(help="CSV: contact, score[, comment, answered_at, channel, …]")
    ],
    survey: Annotated[str, typer.Option("--survey", help="The survey key the responses belong to")],
) -> None:
    """Import responses from CSV: every row valid or nothing imported; other columns become properties."""
    from bot.imports.responses import ImportRow, import_rows, read_rows
    from bot.runtime.database import open_database
    from storage.repositories.surveys import to_domain
    from storage.uow import UnitOfWork

    if not file.is_file():
        fail(f"{file} does not exist or is not a file")
    settings = load_settings()

    async def main() -> tuple[int, int]:
        engine, sessions = await open_database(settings)
        try:
            async with UnitOfWork(sessions) as uow:
                row = await uow.surveys.get_by_key(survey)
                if row is None:
                    fail(
                        f"survey {survey!r} does not exist (load it with `surveybot surveys load`)"
                    )
                definition = to_domain(row)
                rows: list[ImportRow] = []
                problems: list[str] = []
                with progress_bar() as progress:
                    task = progress.add_task("checking rows", total=None)
                    try:
                        for item in read_rows(file, definition, now=datetime.now(UTC)):
                            if isinstance(item, str):
                                problems.append(item)
                            else:
                                rows.append(item)
                            progress.advance(task)
                    except (UnicodeDecodeError, OSError) as exc:
                        fail(f"cannot read {file}: {exc}")
                    if problems:
                        shown = problems[:20]
                        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
                        fail(
                            f"nothing imported: {len(problems)} bad row(s){more}:\n  "
                            + "\n  ".join(shown)
                        )
                    task2 = progress.add_task("importing", total=len(rows))
                    result = await import_rows(
                        uow,
                        row.id or 0,
                        survey,
                        rows,
                        progress=lambda n: progress.advance(task2, n),
                    )
                await uow.commit()
                return result.imported, result.already_present
        finally:
            await engine.dispose()

    imported, present = run(main())
    out.print(
        f"imported {imported} response(s) into {survey}"
        + (f"; {present} were already there" if present else ""),
        highlight=False,
    )


@app.command()
def report(
    survey: Annotated[str, typer.Option("--survey", help="Survey key")],
    from_: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD) or ISO time")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD) or ISO time")
    ] = None,
    group_by: Annotated[
        str | None, typer.Option("--group-by", help="channel, month, week, or a property name")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report object as JSON")
    ] = False,
) -> None:
    """Score a survey over a period, overall and by group, with margins of error."""
    from bot.reports.scores import PeriodError, build_report, parse_bound
    from bot.runtime.database import open_database
    from storage.uow import UnitOfWork

    try:
        since = parse_bound(from_, end=False, name="--from")
        until = parse_bound(to, end=True, name="--to")
    except PeriodError as exc:
        fail(str(exc))
    settings = load_settings()

    async def main() -> dict[str, Any]:
        engine, sessions = await open_database(settings)
        try:
            async with UnitOfWork(sessions) as uow:
                row = await uow.surveys.get_by_key(survey)
                if row is None:
                    fail(f"survey {survey!r} does not exist")
                try:
                    return await build_report(uow, row, since=since, until=until, group_by=group_by)
                except ValueError as exc:
                    fail(str(exc))
        finally:
            await engine.dispose()

    result = run(main())
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(_report_table(result))
    out.print(_funnel_line(result["funnel"]), highlight=False)


def _fmt(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _report_table(result: dict[str, Any]) -> Table:
    metric = result["metric"]
    label = {"nps": "NPS", "csat": "CSAT %", "ces": "CES % agree"}[metric]
    table = Table(title=f"{result['survey']} ({metric.upper()})")
    for column in ("group", "responses", label, "± margin", "95% interval", "average", "note"):
        table.add_column(column, justify="left" if column in ("group", "note") else "right")

    def add(name: str, item: dict[str, Any]) -> None:
        interval = item.get("interval")
        table.add_row(
            name,
            str(item["responses"]),
            _fmt(item["score"]),
            _fmt(item["margin_of_error"]),
            f"{interval[0]:.1f} – {interval[1]:.1f}" if interval else "—",
            _fmt(item["average"], 2),
            "n < 30" if item.get("small_sample") else "",
        )

    add("all", result)
    for group in result.get("groups", []):
        ((field, value),) = group["group"].items()
        add(f"{field}={value}", group)
    return table


def _funnel_line(funnel: dict[str, Any]) -> str:
    skipped = sum(funnel["skipped"].values())
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(funnel["skipped"].items()))
    rate = funnel["response_rate"]
    return (
        f"funnel: {funnel['triggered']} triggered → {skipped} skipped"
        + (f" ({reasons})" if reasons else "")
        + f", {funnel['pending']} pending, {funnel['cancelled']} cancelled,"
        f" {funnel['failed']} failed → {funnel['sent']} sent ({funnel['reminded']} reminded,"
        f" {funnel['opened']} opened) → {funnel['answered']} answered"
        f" ({funnel['answered_after_reminder']} after a reminder), {funnel['completed']} completed;"
        f" response rate {'—' if rate is None else f'{rate * 100:.1f} %'}"
    )


def main() -> None:
    app()
