"""`surveybot webhooks`: subscribe URLs to events, list them, remove them, send a test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import fail, load_settings, out, run, table

if TYPE_CHECKING:
    from bot.runtime.settings import Settings

webhooks_app = typer.Typer(
    help="Outbound webhooks: events sent to your URLs.", no_args_is_help=True
)


def _filters(values: list[str]) -> dict[str, Any]:
    """`--filter NAME=VALUE` options as the filters object (score bounds as numbers)."""
    found: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--filter {item!r}: write NAME=VALUE, e.g. --filter score_max=6")
        name = name.strip()
        found[name] = (
            int(value) if name in ("score_max", "score_min") and value.isdigit() else value
        )
    return found


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="The http(s) address that receives the events")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            metavar="TYPE",
            help="response.created, response.updated, response.completed, contact.opted_out,"
            " invitation.failed (repeatable) [default: every type]",
        ),
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="NAME=VALUE",
            help="survey=KEY, score_max=N, score_min=N, channel=C, property.NAME=V (repeatable)",
        ),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", metavar="SECRET", help="16+ characters [default: generated]"),
    ] = None,
    slack: Annotated[
        bool, typer.Option("--slack", help="Send Slack incoming-webhook messages")
    ] = False,
) -> None:
    """Subscribe a URL; prints its id and its signing secret (shown once)."""
    from bot.errors import ServiceError
    from bot.events import subscriptions
    from storage.uow import UnitOfWork

    request = subscriptions.NewWebhook(
        url=url,
        events=event or ["*"],
        filters=_filters(filter_ or []),
        secret=secret,
        format="slack" if slack else "json",
    )

    async def add(settings: Settings) -> dict[str, Any]:
        from bot.runtime.database import database

        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    hook = await subscriptions.add(uow, request, datetime.now(UTC))
                except ServiceError as exc:
                    fail(f"{_option(exc.field)}: {exc.message}")
                await uow.commit()
                return subscriptions.webhook_dict(hook, secret=True)

    shown = run(add(load_settings()))
    out.print(f"webhook {shown['id']} → {shown['url']} ({', '.join(shown['events'])})")
    out.print(f"signing secret (shown once): {shown['secret']}")


@webhooks_app.command("list")
def webhooks_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Every subscription: URL, events, filters, status (switched off after a day failing)."""
    from bot.events import subscriptions
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    async def listed(settings: Settings) -> list[dict[str, Any]]:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                return [subscriptions.webhook_dict(h) for h in await uow.webhooks.all()]

    hooks = run(listed(load_settings()))
    if as_json:
        print(json.dumps(hooks, default=str, ensure_ascii=False))
        return
    grid = table("id", "url", "events", "filters", "status")
    for hook in hooks:
        state = hook["status"]
        if hook["disabled_reason"]:
            state += f" ({hook['disabled_reason']})"
        filters = ", ".join(f"{k}={v}" for k, v in hook["filters"].items())
        grid.add_row(hook["id"], hook["url"], ", ".join(hook["events"]), filters, state)
    out.print(grid)


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: Annotated[str, typer.Argument(help="The subscription's id (wh_…)")],
) -> None:
    """Remove a subscription; its deliveries not sent yet are dropped."""
    from bot.errors import ServiceError
    from bot.events import subscriptions
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    async def remove(settings: Settings) -> int:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    dropped = await subscriptions.remove(uow, webhook_id, datetime.now(UTC))
                except ServiceError as exc:
                    fail(exc.message)
                await uow.commit()
                return dropped

    dropped = run(remove(load_settings()))
    out.print(f"removed webhook {webhook_id}; {dropped} deliveries not sent were dropped")


@webhooks_app.command("test")
def webhooks_test(
    webhook_id: Annotated[str, typer.Argument(help="The subscription's id (wh_…)")],
) -> None:
    """Send a `webhook.test` event now and print what the endpoint answered."""
    from bot.errors import ServiceError
    from bot.events import subscriptions
    from bot.events.poster import Poster
    from bot.events.posting import deliverer_for
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    settings = load_settings()

    async def test() -> dict[str, Any]:
        def now() -> datetime:
            return datetime.now(UTC)

        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                try:
                    delivery_id = await subscriptions.queue_test(uow, webhook_id, now())
                except ServiceError as exc:
                    fail(exc.message)
                await uow.commit()
            async with Poster() as poster:
                deliverer = deliverer_for(sessions, now, poster, settings.base_url())
                delivery = await deliverer.deliver_one(delivery_id)
            assert delivery is not None
            return {
                "status": delivery.status,
                "http": delivery.last_status,
                "error": delivery.last_error,
            }

    result = run(test())
    if result["status"] == "delivered":
        out.print(f"delivered: the endpoint answered {result['http']}")
        return
    fail(f"not delivered: {result['error']} (it will be retried like any delivery)")


def _option(field: str | None) -> str:
    names = {"url": "URL", "events": "--event", "secret": "--secret", "format": "--slack"}
    if field and field.startswith("filters."):
        return f"--filter {field.removeprefix('filters.')}"
    return names.get(field or "", field or "webhook")
