"""The web chat page's side of a conversation: its state, and how the page is refused.

A state carries the messages after the one the page showed last (`after`), or the newest
`RECENT` when the page has none yet, never the whole transcript each time. A conversation takes
at most `MAX_INBOUND` messages from the person; past that, or once it has ended, its state is
`done` and a message is refused (409, with the state).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.conversation.talk import Talk
from bot.errors import Conflict, Gone, NotFound, ServiceError
from bot.invitations import lifecycle
from bot.runtime.services import Services
from bot.wiring.branding import PLAIN, Brand
from channels.base import Choice
from channels.web import InvalidLink
from storage.models import InvitationStatus, Message, Step
from storage.repositories.invitations import Conversation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.texts import builtin, normalize_locale, ui_direction

# A survey takes three or four answers; this leaves room for retries, HELP and second thoughts.
MAX_INBOUND = 50
# Messages in a state for a page that has none yet: more than a conversation holds.
RECENT = 120
UI_KEYS = ("title", "send", "placeholder", "skip", "ended", "not_open", "link_invalid", "error")
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


def ui(locale: str | None, default_locale: str = "en", brand: Brand = PLAIN) -> dict[str, str]:
    """The page's own texts in the reader's locale, titled with the instance's name if set."""
    texts = {key: builtin(f"ui.{key}", locale, default_locale) for key in UI_KEYS}
    texts["title"] = brand.title(locale, default_locale)
    return texts


def refusal(kind: type[ServiceError], detail: str, locale: str | None = None) -> ServiceError:
    """A refusal the page can show: with its texts, and the page's headers."""
    return kind(detail, extra={"ui": ui(locale)}, headers=HEADERS)


def conversation_id(services: Services, token: str) -> str:
    """The conversation a chat link stands for; NotFound (tampered) or Gone (expired)."""
    try:
        return services.links.open(token, max_age_seconds=services.link_max_age())
    except InvalidLink as exc:
        raise refusal(Gone if exc.expired else NotFound, str(exc)) from exc


async def read(services: Services, invitation_id: str) -> tuple[Conversation, Sequence[Message]]:
    """The conversation and its transcript; NotFound when there is none."""
    async with UnitOfWork(services.read_sessions) as uow:
        conversation = await uow.invitations.conversation(invitation_id)
        if conversation is None:
            raise refusal(NotFound, "the link is not valid")
        return conversation, await uow.messages.transcript(invitation_id)


async def chat_state(
    services: Services, invitation_id: str, *, after: int | None = None
) -> dict[str, Any]:
    """The page's view of the conversation (its question sent first if due); NotFound, Gone."""
    await services.outbox.wait_until_sent(invitation_id, send_if_due=True)
    found = await read(services, invitation_id)
    invitation = found[0].invitation
    if invitation.opened_at is None and invitation.status in InvitationStatus.OPEN:
        # The funnel's "opened": a browser loaded the page (an email scanner runs no script).
        async with UnitOfWork(services.sessions) as uow:
            await uow.invitations.mark_opened(invitation.id, services.clock())
            await uow.commit()
    return state_of(services, *found, after=after)


async def refuse_if_closed(services: Services, invitation_id: str, after: int | None) -> None:
    """Conflict, carrying the state, when the conversation takes no more messages."""
    conversation, transcript = await read(services, invitation_id)
    if _status(services, conversation, transcript) == "done":
        raise Conflict(
            "this conversation has ended: it takes no more messages",
            field="text",
            extra=state_of(services, conversation, transcript, after=after),
            headers=HEADERS,
        )


def _status(services: Services, conversation: Conversation, transcript: Sequence[Message]) -> str:
    """not_open (the question is not sent yet), active, or done (ended, or full)."""
    invitation = conversation.invitation
    if lifecycle.awaiting_send(invitation.status):
        return "not_open"
    full = sum(m.direction == "in" for m in transcript) >= MAX_INBOUND
    return (
        "active" if lifecycle.takes_answers(invitation, services.clock()) and not full else "done"
    )


def _since(transcript: Sequence[Message], after: int | None) -> Sequence[Message]:
    if after is None:
        return transcript[-RECENT:]
    return [m for m in transcript if (m.id or 0) > after]


def state_of(
    services: Services,
    conversation: Conversation,
    transcript: Sequence[Message],
    *,
    after: int | None = None,
) -> dict[str, Any]:
    """The chat page's view of a conversation; Gone once its survey was withdrawn."""
    invitation, contact = conversation.invitation, conversation.contact
    survey = to_domain(conversation.survey)
    locale = normalize_locale(invitation.locale or contact.locale) or survey.default_locale
    if lifecycle.withdrawn(invitation.status):
        raise refusal(Gone, f"this survey is {invitation.status}", locale)
    talk = Talk.of(survey, contact, invitation, invitation.id)
    status = _status(services, conversation, transcript)
    choices: list[Choice] = []
    kind = None
    if status == "active":
        if invitation.step == Step.AWAITING_SCORE:
            choices, kind = list(talk.scale_choices()), "scale"
        elif invitation.step == Step.AWAITING_REASON:
            choices, kind = list(talk.reason_prompt().choices), "reasons"
        elif invitation.step == Step.AWAITING_COMMENT:
            choices, kind = list(talk.skip_choices()), "skip"
    labels = talk.scale_labels()
    return {
        "locale": locale,
        "dir": ui_direction(locale),
        "open": status == "active",
        "status": status,
        "ui": ui(locale, survey.default_locale, Brand.of(services.settings)),
        "messages": [
            {
                "id": str(m.id),
                "direction": m.direction,
                "text": m.text,
                "at": m.created_at.isoformat(),
            }
            for m in _since(transcript, after)
        ],
        "choices": [{"label": c.label, "value": c.value} for c in choices],
        "choices_kind": kind,
        "labels": {"low": labels[0], "high": labels[1]} if labels and kind == "scale" else None,
    }
