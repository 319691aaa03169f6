"""Answering a trigger over HTTP (the API and the help-desk webhooks): run it, wake the outbox."""

from __future__ import annotations

from bot.http.schemas import TriggerIn, TriggerOut
from bot.invitations.triggers import TriggerCommand, trigger
from bot.runtime.services import Services


async def trigger_and_answer(services: Services, body: TriggerIn | TriggerCommand) -> TriggerOut:
    """Run a trigger for the API or a webhook: wake the outbox if due, add the chat link."""
    result = await trigger(
        services.sessions,
        body.command() if isinstance(body, TriggerIn) else body,
        now=services.clock(),
        channels=services.catalog,
    )
    invitation = result.invitation
    if (
        result.created
        and invitation.status == "scheduled"
        and invitation.send_at <= services.clock()
    ):
        services.outbox.wake()
    # A channel with no address of its own is reached through the link handed back here.
    link_only = any(i.name == invitation.channel and i.address is None for i in services.catalog)
    link = (
        services.links.url(invitation.id) if link_only and invitation.status != "skipped" else None
    )
    return TriggerOut(
        invitation_id=invitation.id,
        status="skipped" if invitation.status == "skipped" else "scheduled",
        reason=invitation.skip_reason,
        send_at=invitation.send_at,
        link=link,
        channel=invitation.channel,
    )
