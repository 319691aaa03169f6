"""`surveybot invitations`: what happened to one invitation, from its creation to its answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from bot.cli.common import fail, load_settings, out, run, table

if TYPE_CHECKING:
    from bot.invitations.timeline import InvitationDetailOut

invitations_app = typer.Typer(help="Look into invitations.", no_args_is_help=True)


@invitations_app.command("show")
def show(
    invitation_id: Annotated[str, typer.Argument(metavar="ID", help="The invitation's id")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the API's answer) instead")
    ] = False,
) -> None:
    """Show an invitation: status, channel, attempts, last error, and its timeline."""
    from bot.errors import NotFound
    from bot.invitations.timeline import InvitationDetailOut, invitation_detail
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    settings = load_settings()

    async def main() -> InvitationDetailOut:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                return InvitationDetailOut.of(await invitation_detail(uow, invitation_id))

    try:
        detail = run(main())
    except NotFound as exc:
        fail(exc.message)
    if as_json:
        print(detail.model_dump_json(indent=2))
        return
    for line in _summary(detail):
        # Stored values are the customer's and the caller's words: text, never Rich markup.
        out.print(Text(line), highlight=False)
    events = table("time (UTC)", "event", "text")
    for event in detail.timeline:
        # With a fallback order, where each thing happened matters.
        where = f" ({event.channel})" if event.channel and detail.channels else ""
        events.add_row(_when(event.at), event.event + where, Text(event.text or ""))
    out.print(events)


def _summary(detail: InvitationDetailOut) -> list[str]:
    lines = [
        f"invitation {detail.id}",
        f"survey      {detail.survey}"
        + (f" (campaign {detail.campaign})" if detail.campaign else ""),
        f"contact     {detail.contact}",
        f"channel     {detail.channel}"
        + (f" (fallback order {', '.join(detail.channels)})" if detail.channels else ""),
        f"status      {detail.status}"
        + (f" ({detail.skip_reason})" if detail.skip_reason else "")
        + f", step {detail.step}",
        f"attempts    {detail.attempts}, reminders sent {detail.reminders_sent}",
    ]
    if detail.send_at is not None and detail.sent_at is None:
        lines.append(f"send at     {_when(detail.send_at)}")
    if detail.delivery_status:
        lines.append(f"delivery    {detail.delivery_status}")
    if detail.last_error:
        lines.append(f"last error  {detail.last_error}")
    if detail.test:
        lines.append("test        yes (left out of reports)")
    return lines


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
