"""The web chat channel: the page behind a signed link, its state, and the messages typed into it.

The web chat is on everywhere (it needs no settings) and has no address of its own: the signed
link, handed to whoever triggered the survey, is the way in, so it reminds nobody by itself.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from bot.conversation.talk import Talk
from bot.invitations import lifecycle
from bot.runtime.services import Services, ServicesDep
from bot.runtime.settings import Settings
from bot.wiring.base import Wiring
from channels.base import Channel, ChannelInfo, Choice, InboundMessage, OutboundMessage
from channels.web import ChatLinks, InvalidLink, WebChannel, asset
from storage.models import InvitationStatus, Message, Step
from storage.records import InvitationView
from storage.repositories.invitations import Conversation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.texts import builtin, normalize_locale, ui_direction

INFO = ChannelInfo(
    name="web",
    address=None,
    send_rate=0,
    quiet_hours=None,
    max_text=None,
    buttons=True,
    links=True,
)
Status = InvitationStatus
UI_KEYS = ("title", "send", "placeholder", "skip", "ended", "not_open", "link_invalid", "error")
STATIC = {"chat.css": "text/css; charset=utf-8", "chat.js": "text/javascript; charset=utf-8"}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


class ChatMessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    client_message_id: str = Field(min_length=1, max_length=128)


def _ui(locale: str | None, default_locale: str = "en") -> dict[str, str]:
    return {key: builtin(f"ui.{key}", locale, default_locale) for key in UI_KEYS}


def _refuse(status_code: int, detail: str, locale: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "ui": _ui(locale)}, status_code=status_code, headers=HEADERS
    )


def _open(services: Services, token: str) -> str:
    try:
        return services.links.open(token, max_age_seconds=services.link_max_age())
    except InvalidLink as exc:
        raise HTTPException(410 if exc.expired else 404, str(exc)) from exc


async def _read(
    services: Services, invitation_id: str
) -> tuple[Conversation, Sequence[Message]] | None:
    """The conversation and its transcript, sending the question first when it is due."""
    await services.outbox.wait_until_sent(invitation_id, send_if_due=True)
    async with UnitOfWork(services.read_sessions) as uow:
        conversation = await uow.invitations.conversation(invitation_id)
        if conversation is None:
            return None
        return conversation, await uow.messages.transcript(invitation_id)


async def chat_state(services: Services, invitation_id: str) -> dict[str, Any] | JSONResponse:
    found = await _read(services, invitation_id)
    if found is None:
        return _refuse(404, "the link is not valid")
    invitation = found[0].invitation
    if invitation.opened_at is None and invitation.status in Status.OPEN:
        # The funnel's "opened": a browser loaded the page (an email scanner runs no script).
        async with UnitOfWork(services.sessions) as uow:
            await uow.invitations.mark_opened(invitation.id, services.clock())
            await uow.commit()
    return state_of(services, *found)


def state_of(
    services: Services, conversation: Conversation, transcript: Sequence[Message]
) -> dict[str, Any] | JSONResponse:
    """The chat page's view of a conversation."""
    invitation, contact = conversation.invitation, conversation.contact
    survey = to_domain(conversation.survey)
    locale = normalize_locale(invitation.locale or contact.locale) or survey.default_locale
    if lifecycle.withdrawn(invitation.status):
        return _refuse(410, f"this survey is {invitation.status}", locale)
    talk = Talk.of(survey, contact, invitation, invitation.id)
    if lifecycle.awaiting_send(invitation.status):
        status = "not_open"
    elif lifecycle.takes_answers(invitation, services.clock()):
        status = "active"
    else:
        status = "done"
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
        "ui": _ui(locale, survey.default_locale),
        "messages": [
            {
                "id": str(m.id),
                "direction": m.direction,
                "text": m.text,
                "at": m.created_at.isoformat(),
            }
            for m in transcript
        ],
        "choices": [{"label": c.label, "value": c.value} for c in choices],
        "choices_kind": kind,
        "labels": {"low": labels[0], "high": labels[1]} if labels and kind == "scale" else None,
    }


class WebWiring(Wiring):
    """The web chat: always on; a question is "sent" by making it visible behind its link."""

    info = INFO

    def configured(self, settings: Settings) -> bool:
        return True

    def build(self, settings: Settings, *, secret: str) -> Channel:
        return WebChannel()

    def router(self) -> APIRouter:
        return build_webchat_router()

    def prepare(
        self,
        message: OutboundMessage,
        invitation: InvitationView,
        *,
        settings: Settings,
        secret: str,
    ) -> OutboundMessage:
        links = ChatLinks(secret=secret, base_url=settings.base_url())
        return replace(message, link=links.url(invitation.id))


WIRING = WebWiring()


def build_webchat_router() -> APIRouter:
    router = APIRouter(prefix="/s", tags=["web chat"])

    @router.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "not found")
        return Response(
            asset(name), media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"}
        )

    @router.get("/{token}", response_class=HTMLResponse, summary="The chat page behind a link")
    async def page(token: str, services: ServicesDep) -> HTMLResponse:
        locale = "en"
        try:
            invitation_id = services.links.open(token, max_age_seconds=services.link_max_age())
            async with UnitOfWork(services.read_sessions) as uow:
                found = await uow.invitations.conversation(invitation_id)
            if found is not None:
                locale = normalize_locale(found.invitation.locale or found.contact.locale) or "en"
        except InvalidLink:
            pass
        page = asset("chat.html").decode("utf-8")
        page = page.replace("{{LANG}}", html.escape(locale, quote=True))
        page = page.replace("{{TITLE}}", html.escape(builtin("ui.title", locale)))
        return HTMLResponse(page, headers=HEADERS)

    @router.get("/{token}/state", summary="The conversation as the chat page shows it")
    async def state(token: str, services: ServicesDep) -> Any:
        try:
            invitation_id = _open(services, token)
        except HTTPException as exc:
            return _refuse(exc.status_code, str(exc.detail))
        return _with_headers(await chat_state(services, invitation_id))

    @router.post("/{token}/messages", summary="Send one answer typed or pressed in the chat")
    async def post_message(
        token: str,
        body: Annotated[ChatMessageIn, Body()],
        services: ServicesDep,
    ) -> Any:
        try:
            invitation_id = _open(services, token)
        except HTTPException as exc:
            return _refuse(exc.status_code, str(exc.detail))
        inbound = InboundMessage(
            channel=INFO.name,
            address=invitation_id,
            text=body.text,
            provider_message_id=f"{invitation_id}:{body.client_message_id}",
            received_at=services.clock(),
        )
        reply = await services.conversation.handle(
            inbound, invitation_id=invitation_id, include_transcript=True
        )
        if reply.pending:  # opened before the outbox's tick: send the question, then answer
            await services.outbox.wait_until_sent(invitation_id, send_if_due=True)
            reply = await services.conversation.handle(
                inbound, invitation_id=invitation_id, include_transcript=True
            )
        if reply.conversation is None or reply.transcript is None:
            return _with_headers(await chat_state(services, invitation_id))
        return _with_headers(state_of(services, reply.conversation, reply.transcript))

    return router


def _with_headers(state: dict[str, Any] | JSONResponse) -> JSONResponse:
    if isinstance(state, JSONResponse):
        return state
    return JSONResponse(state, headers=HEADERS)
