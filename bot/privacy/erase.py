"""Erasing a contact: their personal data leaves every table, in one transaction; scores stay.

What goes: the contact's name, addresses, locale, time zone, properties and external id (an
opaque `erased-…` id takes its place, so the rows that stay still join); every transcript
message of the contact and its invitations; response comments and properties, and the comment
analyses and themes made from them; invitation properties, idempotency keys, request hashes,
provider message ids and errors (which can quote an address), those of failed channels too;
Telegram link claims; opt-outs;
outbound webhook deliveries not sent yet (dropped) and the bodies of those sent.
What stays, anonymous: scores, reasons, channels and times of responses and invitations, so
aggregates keep counting them. Invitations not sent yet are cancelled and open conversations
closed, through the lifecycle. Each opted-out address is first put on the suppression list
(bot.invitations.suppression), so the opt-out outlives the address.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.errors import NotFound
from bot.invitations import lifecycle, recorder
from bot.invitations.lifecycle import Move, Status
from bot.invitations.suppression import Suppressions
from bot.privacy.export import addresses_of
from channels.base import ChannelInfo
from storage.models import Contact, Invitation
from storage.repositories.contacts import CONTACT_FIELDS
from storage.uow import UnitOfWork

log = logging.getLogger("bot.privacy")

ERASED_PREFIX = "erased-"
ERASED = "erased"  # the skip reason of an invitation cancelled by an erasure


@dataclass(frozen=True, slots=True)
class Erasing:
    """The contact being erased: its invitations and responses, before their rows are scrubbed."""

    contact_id: int
    invitation_ids: tuple[str, ...]
    response_ids: tuple[int, ...]
    now: datetime


async def erase_contact(
    uow: UnitOfWork,
    external_id: str,
    *,
    suppression: Suppressions,
    channels: Sequence[ChannelInfo],
    now: datetime,
) -> dict[str, int]:
    """Erase the contact called `external_id` in the caller's transaction (the caller commits);
    what was done, counted per kind. NotFound if there is no such contact.

    `channels` are every channel surveybot knows (on or off here), so that an opt-out on a
    channel switched off today is kept on the suppression list too.
    """
    contact = await uow.contacts.get_by_external_id(external_id, lock=True)
    if contact is None or contact.id is None:
        raise NotFound(f"contact {external_id!r} does not exist", field="external_id")
    counts: dict[str, int] = {}
    opted = await uow.opt_outs.channels_of(contact.id)
    suppressed = suppression.hashes(contact, [i for i in channels if i.name in opted])
    await uow.privacy.suppress(suppressed.items(), now)
    counts["suppressed_addresses"] = len(suppressed)

    invitations = [row for row, _ in await uow.privacy.invitations_of(contact.id, lock=True)]
    counts["invitations_cancelled"] = counts["conversations_closed"] = 0
    for invitation in invitations:
        move = _ending(invitation, now)
        if move is not None and await recorder.record(uow, invitation, move, at=now):
            kind = "invitations_cancelled" if move.name == "cancelled" else "conversations_closed"
            counts[kind] += 1
    responses = [row for row, _ in await uow.privacy.responses_of(contact.id, lock=True)]
    erasing = Erasing(
        contact_id=contact.id,
        invitation_ids=tuple(i.id for i in invitations),
        response_ids=tuple(r.id for r in responses if r.id is not None),
        now=now,
    )
    # Outbound events: nothing queued for the contact goes out, no stored body keeps their data.
    counts["events_not_sent"] = await uow.events.forget_unrouted(contact.id, erasing.invitation_ids)
    counts["webhook_deliveries_dropped"] = await uow.deliveries.drop_for_contact(contact.id, now)

    counts["messages"] = await uow.privacy.delete_messages_of(contact.id, addresses_of(contact))
    analyses, themes = await uow.privacy.forget_analyses(erasing.response_ids)
    counts["comment_analyses"], counts["response_themes"] = analyses, themes
    counts["comments"] = sum(1 for r in responses if r.comment is not None)
    for response in responses:
        response.comment = None
        response.properties = {}
        # A digest of the imported row (its contact and comment among it): a guess could be
        # confirmed against it.
        response.import_key = None
    counts["responses_kept_anonymous"] = len(responses)
    for invitation in invitations:
        _scrub_invitation(invitation, now)
    await uow.privacy.forget_failure_errors(erasing.invitation_ids)
    counts["invitations_scrubbed"] = len(invitations)
    counts["link_claims"] = await uow.privacy.delete_link_claims(contact.id)
    counts["opt_outs"] = await uow.privacy.delete_opt_outs(contact.id)
    _scrub_contact(contact, now)
    counts["contacts"] = 1
    await uow.flush()
    log.info("contact %s erased: %s", contact.id, counts)
    return counts


def _ending(invitation: Invitation, now: datetime) -> Move | None:
    """The move that stops an invitation of an erased contact: cancelled before it is sent, its
    conversation closed while open; None once it is over."""
    if invitation.status == Status.SCHEDULED:
        return lifecycle.cancelled(now, reason=ERASED)
    if invitation.status == Status.SENDING:
        return lifecycle.cancelled(now, reason=ERASED, sending=True)
    return lifecycle.closed_by_erasure(invitation)


def _scrub_invitation(invitation: Invitation, now: datetime) -> None:
    invitation.properties = {}
    invitation.idempotency_key = None
    invitation.request_hash = None
    invitation.provider_message_id = None
    invitation.last_error = None
    invitation.updated_at = now


def _scrub_contact(contact: Contact, now: datetime) -> None:
    # Random, so the new id cannot be derived from the old one; the rows that stay still join.
    contact.external_id = ERASED_PREFIX + secrets.token_hex(16)
    for name in CONTACT_FIELDS:  # name, addresses, locale and time zone
        setattr(contact, name, None)
    contact.properties = {}
    contact.updated_at = now
