"""`surveybot alerts`: alert rules on low scores (add, list, remove)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import fail, load_settings, out, run, table

if TYPE_CHECKING:
    from bot.runtime.settings import Settings

alerts_app = typer.Typer(
    help="Alerts: low scores mailed or posted within a minute.", no_args_is_help=True
)

OPTIONS = {
    "survey": "SURVEY",
    "score_max": "--score-max",
    "emails": "--email",
    "webhook_id": "--webhook",
}


def option_of(field: str | None) -> str:
    """The option to blame for a refused field."""
    if field and field.startswith("filters."):
        return f"--filter {field.removeprefix('filters.')}"
    return OPTIONS.get(field or "", field or "alert")


def parse_filters(values: list[str]) -> dict[str, str]:
    """`--filter NAME=VALUE` options as the filters object."""
    found: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--filter {item!r}: write NAME=VALUE, e.g. --filter channel=sms")
        found[name.strip()] = value
    return found


def describe(rule: dict[str, Any]) -> str:
    where = [*rule["emails"]] + ([f"webhook {rule['webhook_id']}"] if rule["webhook_id"] else [])
    filters = "".join(f", {k.removeprefix('property.')} = {v}" for k, v in rule["filters"].items())
    return f"{rule['survey']}, score ≤ {rule['score_max']}{filters} → {', '.join(where)}"


@alerts_app.command("add")
def alerts_add(
    survey: Annotated[str, typer.Argument(help="The survey's key")],
    score_max: Annotated[
        str, typer.Option("--score-max", metavar="N", help="Alert on scores at or below N")
    ],
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="NAME=VALUE",
            help="channel=C or property.NAME=V: only answers in this segment (repeatable)",
        ),
    ] = None,
    email: Annotated[
        list[str] | None,
        typer.Option("--email", metavar="ADDRESS", help="Mail the alert here (repeatable)"),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook", metavar="ID", help="Post a signed alert.triggered to this subscription"
        ),
    ] = None,
) -> None:
    """Alert on a survey's low scores: each one is mailed and/or posted once, within a minute."""
    from bot.errors import ServiceError
    from bot.events import alert_rules
    from bot.runtime.database import database
    from bot.startup.alerting import mail_on
    from storage.uow import UnitOfWork

    try:
        threshold = int(score_max)
    except ValueError:
        fail(f"--score-max: {score_max!r} is not a whole number")
    request = alert_rules.NewAlertRule(
        survey=survey,
        score_max=threshold,
        filters=parse_filters(filter_ or []),
        emails=email or [],
        webhook_id=webhook,
    )

    async def add(settings: Settings) -> dict[str, Any]:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    rule, key = await alert_rules.add(
                        uow, request, datetime.now(UTC), mail_on=mail_on(settings)
                    )
                except ServiceError as exc:
                    fail(f"{option_of(exc.field)}: {exc.message}")
                await uow.commit()
                return alert_rules.rule_dict(rule, key)

    rule = run(add(load_settings()))
    out.print(f"alert rule {rule['id']}: {describe(rule)}", soft_wrap=True)


@alerts_app.command("list")
def alerts_list(
    survey: Annotated[
        str | None, typer.Option("--survey", metavar="KEY", help="Only this survey's rules")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Every alert rule: survey, threshold, segment, where it goes."""
    from bot.errors import ServiceError
    from bot.events import alert_rules
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    async def listed(settings: Settings) -> list[dict[str, Any]]:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    return await alert_rules.listed(uow, survey)
                except ServiceError as exc:
                    fail(exc.message)

    rules = run(listed(load_settings()))
    if as_json:
        print(json.dumps(rules, default=str, ensure_ascii=False))
        return
    grid = table("id", "survey", "score ≤", "segment", "emails", "webhook")
    for rule in rules:
        segment = ", ".join(f"{k}={v}" for k, v in rule["filters"].items())
        grid.add_row(
            str(rule["id"]),
            rule["survey"],
            str(rule["score_max"]),
            segment,
            ", ".join(rule["emails"]),
            rule["webhook_id"] or "",
        )
    out.print(grid)


@alerts_app.command("remove")
def alerts_remove(rule_id: Annotated[int, typer.Argument(help="The rule's id")]) -> None:
    """Remove an alert rule; its alerts not sent yet are dropped."""
    from bot.errors import ServiceError
    from bot.events import alert_rules
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    async def remove(settings: Settings) -> int:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    dropped = await alert_rules.remove(uow, rule_id, datetime.now(UTC))
                except ServiceError as exc:
                    fail(exc.message)
                await uow.commit()
                return dropped

    dropped = run(remove(load_settings()))
    out.print(f"removed alert rule {rule_id}; {dropped} alerts not sent yet were dropped")
