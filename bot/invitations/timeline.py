"""An invitation as an operator reads it: its state and the timeline of what happened to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from bot.errors import NotFound
from storage.models import ChannelFailure, Invitation, InvitationStatus, Message, Response
from storage.uow import UnitOfWork

Status = InvitationStatus

# The events of a timeline.
CREATED = "created"
SKIPPED = "skipped"
SENT = "sent"  # the question went out
REMINDER = "reminder"
OPENED = "opened"  # the contact opened the question's page
RECEIVED = "received"  # a message from the contact
ANSWERED = "answered"  # the stored response as it stands: score, reason, comment
REPLIED = "replied"  # what surveybot answered in the conversation
CHANNEL_FAILED = "channel_failed"  # a channel could not make a send (the next one is tried)
ENDED = "ended"  # cancelled, failed, expired or closed

EVENTS = (
    CREATED,
    SKIPPED,
    SENT,
    REMINDER,
    OPENED,
    RECEIVED,
    ANSWERED,
    REPLIED,
    CHANNEL_FAILED,
    ENDED,
)
_ENDINGS = (Status.CANCELLED, Status.FAILED, Status.EXPIRED, Status.CLOSED)


@dataclass(frozen=True, slots=True)
class Event:
    """One moment of an invitation's life; `text` is what was said or why, when there is one,
    and `channel` where it happened (messages and failed channels)."""

    at: datetime
    event: str
    text: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class InvitationDetail:
    """An invitation with its survey key, contact, campaign name, timeline and failed channels."""

    invitation: Invitation
    survey: str
    contact: str
    campaign: str | None
    timeline: list[Event]
    failures: list[ChannelFailure] = field(default_factory=list)


def build_timeline(
    invitation: Invitation,
    messages: Sequence[Message],
    response: Response | None,
    failures: Sequence[ChannelFailure] = (),
) -> list[Event]:
    """The timeline from the invitation row, its transcript, its response and the channels that
    failed it, oldest first.

    Sends by the outbox carry the provider's message id: the first is the question, later ones
    are reminders. The response is listed after the message that gave its score, as it stands
    now (reason and comment included). Delivery reports are not kept one by one: only the
    latest is on the row; one that failed the question is a failed channel.
    """
    said: list[Event] = []  # the transcript in the order it was stored
    # A question reported as never delivered was sent again on the next channel: the send
    # after such a report is the question again, not a reminder.
    undelivered = [f.failed_at for f in failures if f.reason == "undelivered" and not f.reminder]
    question_at: datetime | None = None
    for message in messages:
        if message.direction == "in":
            said.append(Event(message.created_at, RECEIVED, message.text, message.channel))
        elif message.provider_message_id is None:
            said.append(Event(message.created_at, REPLIED, message.text, message.channel))
        else:
            again = question_at is not None and any(
                question_at <= t <= message.created_at for t in undelivered
            )
            kind = SENT if question_at is None or again else REMINDER
            if kind == SENT:
                question_at = message.created_at
            said.append(Event(message.created_at, kind, message.text, message.channel))
    if response is not None:
        scored = next(
            (n for n, e in enumerate(said) if e.event == RECEIVED and e.at >= response.answered_at),
            len(said) - 1,
        )
        said.insert(scored + 1, Event(response.answered_at, ANSWERED, _answer(response)))
    for failure in failures:  # before what happened at the same moment: the send it led to
        place = next((n for n, e in enumerate(said) if e.at >= failure.failed_at), len(said))
        said.insert(
            place, Event(failure.failed_at, CHANNEL_FAILED, _failure(failure), failure.channel)
        )
    first = next((f.channel for f in failures if not f.reminder), invitation.channel)
    before = [Event(invitation.created_at, CREATED, _planned(invitation, first, bool(failures)))]
    if invitation.status == Status.SKIPPED:
        before.append(Event(invitation.created_at, SKIPPED, invitation.skip_reason))
    if invitation.opened_at is not None:
        before.append(Event(invitation.opened_at, OPENED))
    after = []
    if invitation.status in _ENDINGS:
        after.append(Event(invitation.updated_at, ENDED, _ending(invitation)))
    # At one moment: the creation and the page opening first, the transcript in its own
    # order, the ending last (a stable sort keeps the order within each).
    ranked = [(0, e) for e in before] + [(1, e) for e in said] + [(2, e) for e in after]
    return [e for _, e in sorted(ranked, key=lambda pair: (pair[1].at, pair[0]))]


def _planned(invitation: Invitation, first: str, moved: bool) -> str:
    order = invitation.channels or []
    then = f" (fallback order: {', '.join(order)})" if len(order) > 1 else ""
    if invitation.status == Status.SKIPPED:
        return f"on {first}{then}, not to be sent"
    if moved:  # send_at is the latest channel's
        return f"on {first}{then}"
    at = invitation.send_at.astimezone(UTC)
    return f"on {first}{then}, to be sent at {at:%Y-%m-%d %H:%M:%S} UTC"


def _failure(failure: ChannelFailure) -> str:
    """ "refused (403): Telegram: Forbidden: bot was blocked by the user" """
    what = "reminder " if failure.reminder else ""
    code = f" ({failure.code})" if failure.code else ""
    error = f": {failure.error}" if failure.error else ""
    return f"{what}{failure.reason}{code}{error}"


def _answer(response: Response) -> str:
    parts = [f"score {response.score}"]
    if response.reason:
        parts.append(f"reason: {response.reason}")
    if response.comment:
        parts.append(f"comment: {response.comment}")
    return "; ".join(parts)


def _ending(invitation: Invitation) -> str:
    why = invitation.last_error if invitation.status == Status.FAILED else invitation.skip_reason
    return f"{invitation.status}: {why}" if why and why != invitation.status else invitation.status


async def invitation_detail(uow: UnitOfWork, invitation_id: str) -> InvitationDetail:
    """Everything known about one invitation; NotFound naming `invitation_id`."""
    invitation = await uow.invitations.get(invitation_id)
    if invitation is None:
        raise NotFound(f"invitation {invitation_id!r} does not exist", field="invitation_id")
    survey = await uow.surveys.get(invitation.survey_id)
    contact = await uow.contacts.get(invitation.contact_id)
    campaign = None
    if invitation.campaign_id is not None:
        campaign = await uow.campaigns.get(invitation.campaign_id)
    messages = await uow.messages.transcript(invitation.id)
    response = await uow.responses.for_invitation(invitation.id)
    failures = await uow.failures.of_invitation(invitation.id)
    return InvitationDetail(
        invitation=invitation,
        survey=survey.key if survey else "",
        contact=contact.external_id if contact else "",
        campaign=campaign.name if campaign else None,
        timeline=build_timeline(invitation, messages, response, failures),
        failures=failures,
    )


class EventOut(BaseModel):
    at: datetime
    event: str = Field(description=", ".join(EVENTS))
    text: str | None = Field(description="what was said, or why")
    channel: str | None = Field(
        default=None, description="where: the channel of a message or of a failed send"
    )


class ChannelFailureOut(BaseModel):
    """A channel that could not make one of the invitation's sends."""

    at: datetime
    channel: str
    reason: str = Field(
        description="not_on, no_address, opted_out, refused, gave_up or undelivered"
    )
    code: str | None = Field(description="the provider's error code, if it gave one")
    error: str | None
    reminder: bool = Field(description="a reminder's send, not the question's")


class InvitationDetailOut(BaseModel):
    """An invitation as the API answers it and `surveybot invitations show --json` prints it."""

    id: str
    survey: str
    contact: str = Field(description="the contact's external_id")
    campaign: str | None
    channel: str = Field(description="the channel it is on: the one that reached the contact")
    channels: list[str] | None = Field(
        description="the fallback order it was made with; null: its channel alone"
    )
    status: str
    skip_reason: str | None
    step: str
    attempts: int = Field(description="send attempts of the question")
    last_error: str | None
    delivery_status: str | None = Field(description="the provider's latest delivery report")
    reminders_sent: int
    test: bool = Field(description="made by `surveybot try`, left out of reports")
    send_at: datetime | None = Field(description="when it is (or was) to be sent; none if skipped")
    sent_at: datetime | None
    expires_at: datetime | None
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    timeline: list[EventOut]
    failures: list[ChannelFailureOut] = Field(
        description="the channels that could not make a send, oldest first"
    )

    @classmethod
    def of(cls, detail: InvitationDetail) -> InvitationDetailOut:
        row = detail.invitation
        return cls(
            id=row.id,
            survey=detail.survey,
            contact=detail.contact,
            campaign=detail.campaign,
            channel=row.channel,
            channels=row.channels,
            status=row.status,
            skip_reason=row.skip_reason,
            step=row.step,
            attempts=row.attempts,
            last_error=row.last_error,
            delivery_status=row.delivery_status,
            reminders_sent=row.reminders_sent,
            test=row.test,
            send_at=None if row.status == Status.SKIPPED else row.send_at,
            sent_at=row.sent_at,
            expires_at=row.expires_at,
            properties=row.properties,
            created_at=row.created_at,
            updated_at=row.updated_at,
            timeline=[
                EventOut(at=e.at, event=e.event, text=e.text, channel=e.channel)
                for e in detail.timeline
            ],
            failures=[
                ChannelFailureOut(
                    at=f.failed_at,
                    channel=f.channel,
                    reason=f.reason,
                    code=f.code,
                    error=f.error,
                    reminder=f.reminder,
                )
                for f in detail.failures
            ],
        )
