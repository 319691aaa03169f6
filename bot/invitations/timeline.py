"""An invitation as an operator reads it: its state and the timeline of what happened to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from bot.errors import NotFound
from storage.models import Invitation, InvitationStatus, Message, Response
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
ENDED = "ended"  # cancelled, failed, expired or closed

EVENTS = (CREATED, SKIPPED, SENT, REMINDER, OPENED, RECEIVED, ANSWERED, REPLIED, ENDED)
_ENDINGS = (Status.CANCELLED, Status.FAILED, Status.EXPIRED, Status.CLOSED)


@dataclass(frozen=True, slots=True)
class Event:
    """One moment of an invitation's life; `text` is what was said or why, when there is one."""

    at: datetime
    event: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class InvitationDetail:
    """An invitation with its survey key, contact, campaign name and timeline."""

    invitation: Invitation
    survey: str
    contact: str
    campaign: str | None
    timeline: list[Event]


def build_timeline(
    invitation: Invitation, messages: Sequence[Message], response: Response | None
) -> list[Event]:
    """The timeline from the invitation row, its transcript and its response, oldest first.

    Sends by the outbox carry the provider's message id: the first is the question, later ones
    are reminders. The response is listed after the message that gave its score, as it stands
    now (reason and comment included). Delivery reports are not kept one by one: only the
    latest is on the row.
    """
    said: list[Event] = []  # the transcript in the order it was stored
    question_seen = False
    for message in messages:
        if message.direction == "in":
            said.append(Event(message.created_at, RECEIVED, message.text))
        elif message.provider_message_id is None:
            said.append(Event(message.created_at, REPLIED, message.text))
        else:
            said.append(
                Event(message.created_at, REMINDER if question_seen else SENT, message.text)
            )
            question_seen = True
    if response is not None:
        scored = next(
            (n for n, e in enumerate(said) if e.event == RECEIVED and e.at >= response.answered_at),
            len(said) - 1,
        )
        said.insert(scored + 1, Event(response.answered_at, ANSWERED, _answer(response)))
    before = [Event(invitation.created_at, CREATED, _planned(invitation))]
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


def _planned(invitation: Invitation) -> str:
    if invitation.status == Status.SKIPPED:
        return f"on {invitation.channel}, not to be sent"
    return f"on {invitation.channel}, to be sent at {invitation.send_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


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
    return InvitationDetail(
        invitation=invitation,
        survey=survey.key if survey else "",
        contact=contact.external_id if contact else "",
        campaign=campaign.name if campaign else None,
        timeline=build_timeline(invitation, messages, response),
    )


class EventOut(BaseModel):
    at: datetime
    event: str = Field(description=", ".join(EVENTS))
    text: str | None = Field(description="what was said, or why")


class InvitationDetailOut(BaseModel):
    """An invitation as the API answers it and `surveybot invitations show --json` prints it."""

    id: str
    survey: str
    contact: str = Field(description="the contact's external_id")
    campaign: str | None
    channel: str
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

    @classmethod
    def of(cls, detail: InvitationDetail) -> InvitationDetailOut:
        row = detail.invitation
        return cls(
            id=row.id,
            survey=detail.survey,
            contact=detail.contact,
            campaign=detail.campaign,
            channel=row.channel,
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
            timeline=[EventOut(at=e.at, event=e.event, text=e.text) for e in detail.timeline],
        )
