"""`surveybot campaigns`: relationship surveys on a schedule."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer

from bot.cli.common import fail, load_settings, out, plural, progress_bar, run, table
from bot.errors import Conflict, ServiceError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from bot.campaigns.management import Campaigns, CampaignView
    from bot.campaigns.runs import AudienceCount
    from storage.models import CampaignRun

campaigns_app = typer.Typer(
    help="Relationship campaigns: a survey, an audience and a cadence.", no_args_is_help=True
)

T = TypeVar("T")

# The option that carries each spec field, for error sentences.
OPTIONS = {
    "name": "NAME",
    "survey": "--survey",
    "audience": "--audience",
    "channel": "--channel",
    "cron": "--cron",
    "every_months": "--every-months",
    "relative_to": "--before/--after",
    "relative_to.property": "--before/--after",
    "relative_to.before": "--before",
    "relative_to.after": "--after",
    "relative_to.grace_days": "--grace-days",
    "at": "--at",
    "timezone": "--timezone",
    "spread": "--spread-days",
    "spread.days": "--spread-days",
    "spread.hours": "--hours",
    "spread.weekdays_only": "--any-day",
}


def _with_campaigns(work: Callable[[Campaigns], Awaitable[T]]) -> T:
    """Open the database, hand `work` a `Campaigns`, and turn refusals into exit 1."""
    from bot.campaigns.management import Campaigns
    from bot.invitations.suppression import Suppressions
    from bot.runtime.database import database
    from bot.runtime.secret import secret_of
    from bot.wiring import registry
    from storage.types import utcnow

    settings = load_settings()
    channels = tuple(wiring.info for wiring in registry.configured(settings))

    async def main() -> T:
        async with database(settings) as sessions:
            campaigns = Campaigns(
                sessions=sessions,
                clock=utcnow,
                channels=channels,
                suppression=Suppressions.keyed_by(await secret_of(settings, sessions)),
                page_size=1000,
            )
            return await work(campaigns)

    try:
        return run(main())
    except ServiceError as exc:
        option = OPTIONS.get(exc.field or "")
        fail(f"{option}: {exc.message}" if option and option != "NAME" else exc.message)


@campaigns_app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(help="The campaign's name: lowercase letters, digits, - _")
    ],
    survey: Annotated[str, typer.Option("--survey", help="The key of the survey to send")],
    audience: Annotated[
        str,
        typer.Option(help='Who gets it, e.g. "plan = pro AND region IN (EU, US)" [default: all]'),
    ] = "",
    cron: Annotated[
        str | None, typer.Option(help='A fixed schedule as a crontab line, e.g. "0 9 1 */3 *"')
    ] = None,
    every_months: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Or: every N months per person, from their last survey of this campaign",
        ),
    ] = None,
    before: Annotated[
        tuple[str, str] | None,
        typer.Option(
            metavar="PROPERTY OFFSET",
            help="Or: before a date of each contact, e.g. --before renewal_date 6mo"
            " (offsets: 30d, 2w, 6mo)",
        ),
    ] = None,
    after: Annotated[
        tuple[str, str] | None,
        typer.Option(
            metavar="PROPERTY OFFSET",
            help="Or: after a date of each contact, e.g. --after signup_date 30d",
        ),
    ] = None,
    grace_days: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="With --before/--after: days a missed day is still caught up (after downtime) [3]",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="With --every-months, --before or --after: the daily check's time [09:00]"
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="The zone of the schedule, e.g. Europe/Helsinki [UTC]")
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(help="telegram, sms, whatsapp or email [default: each contact's best]"),
    ] = None,
    spread_days: Annotated[
        str | None,
        typer.Option(metavar="DAYS", help="Send evenly over this many days instead of all at once"),
    ] = None,
    any_day: Annotated[
        bool, typer.Option("--any-day", help="With --spread-days: weekends too")
    ] = False,
    hours: Annotated[
        str | None, typer.Option(help="With --spread-days: local working hours [09:00-17:00]")
    ] = None,
    update: Annotated[
        bool, typer.Option("--update", help="Replace the spec of an existing campaign")
    ] = False,
) -> None:
    """Add a campaign (or with --update replace one); it first runs at its next fire time.

    Give one cadence: --cron, --every-months, or --before/--after a date of
    each contact. --before renewal_date 6mo: each day's run invites those whose
    renewal is six months away in their time zone, once per renewal date."""
    from surveys.campaigns import CampaignSpec

    cadences = (cron, every_months, before, after)
    if sum(value is not None for value in cadences) != 1:
        fail("give exactly one of --cron, --every-months, --before and --after")
    if spread_days is None and (any_day or hours is not None):
        fail("--any-day and --hours shape a spread: add --spread-days")
    if cron is not None and at is not None:
        fail(
            "--at goes with --every-months, --before or --after"
            " (a cron line carries its own time of day)"
        )
    if grace_days is not None and before is None and after is None:
        fail("--grace-days goes with --before or --after")
    data: dict[str, Any] = {"name": name, "survey": survey, "audience": audience}
    optional = {"cron": cron, "every_months": every_months, "at": at, "timezone": timezone}
    data.update({key: value for key, value in optional.items() if value is not None})
    for side, given in (("before", before), ("after", after)):
        if given is not None:
            data["relative_to"] = {"property": given[0], side: given[1]}
            if grace_days is not None:
                data["relative_to"]["grace_days"] = grace_days
    if channel is not None:
        data["channel"] = channel
    if spread_days is not None:
        data["spread"] = {"days": spread_days, "weekdays_only": not any_day}
        if hours is not None:
            data["spread"]["hours"] = hours
    from pydantic import ValidationError

    try:
        spec = CampaignSpec.model_validate(data)
    except ValidationError as exc:
        fail(_problems(exc))

    async def save(campaigns: Campaigns) -> tuple[str, CampaignView]:
        try:
            await campaigns.create(spec)
            verb = "added"
        except Conflict:
            if not update:
                raise Conflict(
                    f"campaign {name!r} already exists; add --update to replace its spec"
                ) from None
            await campaigns.update(name, spec)
            verb = "updated"
        return verb, await campaigns.get(name)

    verb, view = _with_campaigns(save)
    out.print(
        f"{verb} campaign {name} ({spec.cadence_text()}); next run {_when(view.next_fire_at, spec.zone())}",
        highlight=False,
    )


def _problems(exc: ValidationError) -> str:
    sentences = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        option = OPTIONS.get(path, OPTIONS.get(path.split(".")[0], "campaign"))
        message = str(error["msg"]).removeprefix("Value error, ")
        sentences.append(f"{option}: {message}")
    return "; ".join(sentences)


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@campaigns_app.command("list")
def list_campaigns(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """List campaigns: audience, cadence, status, next run, and the last run's counts."""
    from bot.campaigns.schemas import campaign_out

    views = _with_campaigns(lambda campaigns: campaigns.list_campaigns())
    if as_json:
        print(json.dumps([campaign_out(v).model_dump(mode="json") for v in views], indent=2))
        return
    grid = table("name", "survey", "audience", "cadence", "status", "next run", "last run")
    for view in views:
        zone = view.spec.zone()
        grid.add_row(
            view.campaign.name,
            view.survey,
            view.spec.audience or "everyone",
            view.spec.cadence_text(),
            view.campaign.status,
            _when(view.next_fire_at, zone),
            _last_run(view, zone),
        )
    out.print(grid)


def _last_run(view: CampaignView, zone: ZoneInfo) -> str:
    run = view.last_run
    if run is None:
        return "-"
    return (
        f"{_when(run.scheduled_for, zone)} {run.kind} {run.status}\n"
        f"audience {run.audience}: {run.invited} invited, {run.skipped} skipped"
    )


@campaigns_app.command("pause")
def pause(name: Annotated[str, typer.Argument(help="The campaign to pause")]) -> None:
    """Pause a campaign: no runs until it is resumed."""

    async def work(campaigns: Campaigns) -> bool:
        if (await campaigns.get(name)).campaign.status == "paused":
            return False
        await campaigns.pause(name)
        return True

    if _with_campaigns(work):
        out.print(f"campaign {name} paused")
    else:
        out.print(f"campaign {name} is already paused; nothing changed")


@campaigns_app.command("resume")
def resume(name: Annotated[str, typer.Argument(help="The campaign to resume")]) -> None:
    """Resume a paused campaign at its next fire time (runs missed meanwhile are not made up)."""

    async def work(campaigns: Campaigns) -> tuple[bool, CampaignView]:
        paused = (await campaigns.get(name)).campaign.status == "paused"
        if paused:
            await campaigns.resume(name)
        return paused, await campaigns.get(name)

    resumed, view = _with_campaigns(work)
    next_run = _when(view.next_fire_at, view.spec.zone())
    if resumed:
        out.print(f"campaign {name} resumed; next run {next_run}")
    else:
        out.print(f"campaign {name} is already active; nothing changed; next run {next_run}")


@campaigns_app.command("run-now")
def run_now(name: Annotated[str, typer.Argument(help="The campaign to run")]) -> None:
    """Run a campaign now, in this process, with a progress bar."""

    async def work(
        campaigns: Campaigns,
    ) -> tuple[CampaignRun, CampaignRun | None, AudienceCount | None, ZoneInfo, bool]:
        started = await campaigns.run_now(name)
        spec = (await campaigns.get(name)).spec
        zone = spec.zone()
        with progress_bar() as bar:
            task = bar.add_task(f"campaign {name}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            finished = await campaigns.execute_run(started.id or 0, progress)
        # Counted again as the run saw it, for who matched but was not due (every N months).
        counted = await campaigns.count_audience(started.id or 0) if finished else None
        return started, finished, counted, zone, spec.relative_to is not None

    started, finished, counted, zone, dated = _with_campaigns(work)
    if finished is None:
        fail(
            f"run {started.id} of campaign {name} is held by another process; "
            "the scheduler executes it"
        )
    out.print(
        f"campaign {name}: {_audience(finished.audience, counted, zone, dated)}, "
        f"invited {finished.invited}, skipped {finished.skipped}{_reasons(finished)}",
        highlight=False,
    )


def _reasons(run: CampaignRun) -> str:
    """` (throttled 2, no_date 1)`: why the skipped were skipped, most first."""
    reasons = sorted((run.skip_reasons or {}).items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{reason} {count}" for reason, count in reasons if count)
    return f" ({shown})" if shown else ""


def _audience(due: int, counted: AudienceCount | None, zone: ZoneInfo, dated: bool = False) -> str:
    """`2 contacts match the audience, none due now (next due …)`: not a bare "audience 0"."""
    if counted is None or counted.matched == due:
        return f"audience {due}"
    later = f" (next due {_when(counted.next_due, zone)})" if counted.next_due else ""
    verb = "matches" if counted.matched == 1 else "match"
    if dated:  # the audience holds those without a date too: say who is not in it
        rest = counted.matched - due
        return (
            f"{plural(counted.matched, 'contact')} {verb} the audience,"
            f" {rest} not due now{later}; audience {due}"
        )
    return (
        f"{plural(counted.matched, 'contact')} {verb} the audience,"
        f" {'none' if due == 0 else due} due now{later}"
    )


@campaigns_app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="The campaign to delete")]) -> None:
    """Delete a campaign and its runs; the invitations it made and their answers stay."""
    deleted = _with_campaigns(lambda campaigns: campaigns.delete(name))
    kept = plural(deleted.invitations, "invitation")
    cancelled = (
        f" ({deleted.cancelled} not sent yet {'was' if deleted.cancelled == 1 else 'were'}"
        " cancelled)"
        if deleted.cancelled
        else ""
    )
    out.print(
        f"deleted campaign {name} and its {plural(deleted.runs, 'run')};"
        f" the {kept} it made stay, with their answers{cancelled}"
    )
