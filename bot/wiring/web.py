"""The web chat channel: the page behind a signed link, its state, and the messages typed into it.

The web chat is on everywhere (it needs no settings) and has no address of its own: the signed
link, handed to whoever triggered the survey, is the way in, so it reminds nobody by itself.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from bot.contacts.text import CustomerText, Text
from bot.conversation.turns import MAX_COMMENT_CHARS
from bot.errors import NotFound
from bot.runtime.services import ServicesDep
from bot.runtime.settings import Settings
from bot.wiring.base import Wiring
from bot.wiring.branding import Brand
from bot.wiring.web_chat import HEADERS, chat_state, conversation_id, refuse_if_closed, state_of
from channels.base import Channel, ChannelInfo, InboundMessage, OutboundMessage
from channels.web import ChatLinks, InvalidLink, WebChannel, asset
from storage.records import InvitationView
from storage.uow import UnitOfWork
from surveys.texts import normalize_locale

INFO = ChannelInfo(
    name="web",
    address=None,
    send_rate=0,
    quiet_hours=None,
    max_text=None,
    buttons=True,
    links=True,
)
STATIC = {"chat.css": "text/css; charset=utf-8", "chat.js": "text/javascript; charset=utf-8"}

router = APIRouter(prefix="/s", tags=["web chat"])


AFTER_DESCRIPTION = "the id of the newest message the page has; only later ones come back"


class ChatMessageIn(BaseModel):
    text: CustomerText = Field(min_length=1, max_length=MAX_COMMENT_CHARS)
    client_message_id: Text = Field(min_length=1, max_length=128)
    after: int | None = Field(default=None, ge=0, le=2**63 - 1, description=AFTER_DESCRIPTION)


class WebWiring(Wiring):
    """The web chat: always on; a question is "sent" by making it visible behind its link."""

    info = INFO

    def configured(self, settings: Settings) -> bool:
        return True

    def build(self, settings: Settings, *, secret: str) -> Channel:
        return WebChannel()

    def router(self) -> APIRouter:
        return router

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


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str, services: ServicesDep) -> Response:
    if name not in STATIC:
        raise NotFound("not found")
    content = asset(name)
    if name == "chat.css":  # in the brand's colour, if one is set
        content += Brand.of(services.settings).css().encode()
    return Response(content, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})


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
        pass  # the page itself always loads: its script shows the refusal in the page's words
    content = asset("chat.html").decode("utf-8")
    content = content.replace("{{LANG}}", html.escape(locale, quote=True))
    title = Brand.of(services.settings).title(locale)
    content = content.replace("{{TITLE}}", html.escape(title))
    return HTMLResponse(content, headers=HEADERS)


@router.get("/{token}/state", summary="The conversation as the chat page shows it")
async def state(
    token: str,
    services: ServicesDep,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1, description=AFTER_DESCRIPTION)] = None,
) -> Any:
    state = await chat_state(services, conversation_id(services, token), after=after)
    return JSONResponse(state, headers=HEADERS)


@router.post(
    "/{token}/messages",
    summary="Send one answer typed or pressed in the chat",
    responses={
        409: {"description": "The conversation has ended; the body carries its state"},
        413: {"description": "Body larger than 64 KiB"},
    },
)
async def post_message(
    token: str, body: Annotated[ChatMessageIn, Body()], services: ServicesDep
) -> Any:
    """The state after the answer; 409 with the state once the conversation has ended."""
    invitation_id = conversation_id(services, token)
    await refuse_if_closed(services, invitation_id, body.after)
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
        state = await chat_state(services, invitation_id, after=body.after)
    else:
        state = state_of(services, reply.conversation, reply.transcript, after=body.after)
    return JSONResponse(state, headers=HEADERS)
