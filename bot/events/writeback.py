"""Help-desk write-back: each Zendesk-linked response becomes one internal note on its ticket.

Zendesk-linked: the invitation was made by the Zendesk receiver (its idempotency key is scoped
to the caller `zendesk`, which no API key, webhook source or campaign can be), or by a trigger
carrying a `zendesk_ticket_id` property.

One note per response. The note is planned once, on the response's `response.created` (which a
response announces once), as one delivery to `zendesk:<ticket>:<invitation>` due after a grace
period, so that a comment given meanwhile is in it; when the conversation is over sooner, routing
brings that delivery forward (`prepare`). The body is built at the first attempt from the
response as it stands then, and before each PUT the ticket's comments are searched for the
note's marker (bot.events.zendesk_api): retries, lost answers and restarts add no second note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import httpx

from bot.events.delivering import Attempt, Due, Outcome
from bot.events.payloads import Subject, encode
from bot.events.routing import Planned
from bot.events.ticket_notes import marker, note_of
from bot.events.zendesk_api import TIMEOUT, ZendeskAccount, ZendeskApi
from bot.invitations.helpdesk import zendesk_ticket
from bot.invitations.lifecycle import RESPONSE_CREATED
from bot.invitations.tickets import TICKET_PROPERTY, ticket_number
from storage.models import InvitationStatus
from storage.outbound import Delivery
from storage.repositories.surveys import to_domain
from storage.repositories.writeback import bring_forward
from storage.uow import UnitOfWork

log = logging.getLogger("bot.events")

TARGET = "zendesk"
# Long enough for a comment to follow the score (an SMS reply can take minutes), short enough
# for the agent to still have the ticket in mind.
GRACE = timedelta(minutes=10)


def target_for(ticket_id: str, invitation_id: str) -> str:
    """The delivery's target: which ticket, and whose note (at most 59 characters)."""
    return f"{TARGET}:{ticket_id}:{invitation_id}"


def _parts(target: str) -> tuple[str, str] | None:
    kind, _, rest = target.partition(":")
    ticket_id, _, invitation_id = rest.partition(":")
    if kind != TARGET or ticket_number(ticket_id) is None or not invitation_id:
        return None
    return ticket_id, invitation_id


def ticket_of(subject: Subject) -> str | None:
    """The Zendesk ticket an event's response is to be written back to, if any."""
    invitation, survey = subject.invitation, subject.survey
    if invitation is None or survey is None:
        return None
    made_by_receiver = zendesk_ticket(invitation.idempotency_key, survey.key)
    if made_by_receiver is not None:
        return made_by_receiver
    return ticket_number((invitation.properties or {}).get(TICKET_PROPERTY))


class ZendeskNotes:
    """The write-back as the router's consumer: one delivery per Zendesk-linked response."""

    def __init__(self, *, clock: Callable[[], datetime], grace: timedelta = GRACE) -> None:
        self._clock = clock
        self._grace = grace

    async def prepare(self, uow: UnitOfWork) -> None:
        # Each batch of events (a response.completed among them) brings forward the notes of
        # the conversations that ended while their note waited for a comment. A note planned
        # by another process in the same instant may miss this batch: it is then moved by the
        # next one, or goes at the end of its grace; it is late then, never doubled.
        now = self._clock()
        moved = await bring_forward(
            uow.session, prefix=f"{TARGET}:", now=now, until=now + self._grace
        )
        if moved:
            log.info("brought %d zendesk notes forward: their conversations are over", moved)

    def plan(self, subject: Subject, now: datetime) -> list[Planned]:
        invitation = subject.invitation
        if subject.event.type != RESPONSE_CREATED or subject.response is None or not invitation:
            return []
        ticket_id = ticket_of(subject)
        if ticket_id is None:
            return []
        # The rows as they stand now: a score with nothing to ask after it, or an event routed
        # after the comment came, needs no wait.
        over = invitation.status == InvitationStatus.COMPLETED
        due = now if over else now + self._grace
        return [Planned(target=target_for(ticket_id, invitation.id), due_at=due)]


class ZendeskSender:
    """The write-back as the deliverer's sender: the ticket update, written once."""

    def __init__(self, *, api: ZendeskApi, timeline_url: Callable[[str], str]) -> None:
        self._api = api
        self._timeline_url = timeline_url

    async def body(self, uow: UnitOfWork, delivery: Delivery, subject: Subject) -> str | None:
        response, survey, invitation = subject.response, subject.survey, subject.invitation
        if response is None or survey is None or invitation is None:
            return None
        if _parts(delivery.target) is None:
            return None
        note = note_of(
            to_domain(survey),
            response,
            invitation_id=invitation.id,
            timeline_url=self._timeline_url(invitation.id),
        )
        update = {
            "ticket": {
                "comment": {"body": note.text, "public": False},
                "additional_tags": list(note.tags),
            }
        }
        return encode(update)

    async def send(self, due: Due) -> Attempt:
        delivery, payload = due.delivery, due.payload
        parts = _parts(delivery.target)
        if parts is None:
            return Attempt(status=None, error="not a Zendesk ticket", drop=True)
        ticket_id, invitation_id = parts
        return await self._api.write_note(
            ticket_id, payload, marker(invitation_id), lease_until=delivery.lease_until
        )

    async def settled(self, uow: UnitOfWork, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Nothing to keep: a ticket is not an endpoint that can be switched off."""


def zendesk_writeback(
    *,
    account: ZendeskAccount,
    client: httpx.AsyncClient,
    clock: Callable[[], datetime],
    base_url: str,
    grace: timedelta = GRACE,
    timeout: httpx.Timeout | float = TIMEOUT,
) -> tuple[ZendeskNotes, ZendeskSender]:
    """The consumer for the router and the sender for the deliverer (under `TARGET`), linking
    timelines under `base_url`'s dashboard."""
    log.info("zendesk write-back on: notes to the tickets of %s", account.base)
    base = base_url.rstrip("/")
    api = ZendeskApi(client=client, account=account, clock=clock, timeout=timeout)
    sender = ZendeskSender(
        api=api, timeline_url=lambda invitation_id: f"{base}/dashboard/invitations/{invitation_id}"
    )
    return ZendeskNotes(clock=clock, grace=grace), sender
