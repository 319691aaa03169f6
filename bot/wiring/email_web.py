"""The email channel's web side: the rating pages and one-click unsubscribe.

Rating links are scanner-safe: `GET /r/<token>?score=N` records nothing (mail scanners open every
link); the page's script, or its "Confirm" button without JavaScript, POSTs the score, and the
person continues on the web chat page of the same invitation. `POST /u/<token>` is the RFC 8058
one-click unsubscribe; `GET /u/<token>` only shows a confirm page. A refused link answers a page
in the reader's language (or JSON, to the rating page's script).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.errors import Gone, NotFound, PayloadTooLarge, ServiceError, Unprocessable
from bot.invitations import lifecycle, recorder
from bot.runtime.services import Services, ServicesDep
from bot.wiring.branding import PLAIN, Brand
from bot.wiring.email_links import EmailLinks
from bot.wiring.email_pages import (
    page_locale,
    rate_page,
    refusal_page,
    static_file,
    unsubscribe_page,
)
from bot.wiring.web_chat import HEADERS
from channels.base import InboundMessage
from channels.web import InvalidLink
from storage.repositories.invitations import Conversation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

log = logging.getLogger("bot.wiring.email")

CHANNEL = "email"
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_BODY = 4096
MAX_SCORE_DIGITS = 4

router = APIRouter(tags=["email"])


def _refused(
    kind: type[ServiceError],
    locale: str = "en",
    *,
    page: bool = True,
    detail: str = "the link is not valid",
    brand: Brand = PLAIN,
) -> ServiceError:
    """A refusal shown as a page in the reader's language, or as JSON to the page's script."""
    return kind(detail, page=refusal_page(locale, brand) if page else None, headers=HEADERS)


def _brand(services: Services) -> Brand:
    return Brand.of(services.settings)


def _links(services: Services) -> EmailLinks:
    if CHANNEL not in services.channels:
        raise _refused(NotFound, brand=_brand(services))
    return EmailLinks(secret=services.secret, base_url=services.settings.base_url())


async def _rating(
    services: Services, token: str, raw_score: object, *, page: bool = True
) -> tuple[Conversation, int, str]:
    """The conversation, score and page locale a rating link stands for; NotFound or Gone."""
    brand = _brand(services)
    try:
        links = _links(services)
        invitation_id = links.open_rate(token, max_age_seconds=services.link_max_age())
    except InvalidLink as exc:
        raise _refused(Gone if exc.expired else NotFound, page=page, brand=brand) from exc
    except NotFound as exc:
        raise _refused(NotFound, page=page, brand=brand) from exc
    async with UnitOfWork(services.read_sessions) as uow:
        conversation = await uow.invitations.conversation(invitation_id)
    if conversation is None:
        raise _refused(NotFound, page=page, brand=brand)
    invitation = conversation.invitation
    locale = page_locale(invitation.locale, conversation.contact.locale)
    survey = to_domain(conversation.survey)
    score = _int(raw_score)
    if score is None or not survey.low <= score <= survey.high:
        raise _refused(NotFound, locale, page=page, brand=brand)
    if lifecycle.withdrawn(invitation.status):
        raise _refused(Gone, locale, page=page, brand=brand)
    return conversation, score, locale


def _int(value: object) -> int | None:
    """A score as sent: an integer, or up to a few ASCII digits (no scale is longer)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    # int() of thousands of digits is refused by Python itself (and slow): read short ones only.
    if 0 < len(text) <= MAX_SCORE_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


async def _fields(request: Request) -> tuple[dict[str, Any], bool]:
    """The POSTed fields (JSON from the page's script, or a form) and whether it was JSON."""
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise PayloadTooLarge("request body too large")
    if "application/json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise Unprocessable("the body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise Unprocessable("the body must be a JSON object")
        return data, True
    try:
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError as exc:  # more fields than any form of ours has
        raise Unprocessable("too many form fields") from exc
    return {k: v[0] for k, v in form.items()}, False


async def _record(
    services: Services, conversation: Conversation, score: int, client_id: str
) -> None:
    """Hand the pressed score to the engine, unless it can change nothing."""
    invitation, response = conversation.invitation, conversation.response
    if lifecycle.ended(invitation) or conversation.opted_out:
        return  # after the comment (or an opt-out) a click changes nothing
    if response is not None and response.score == score:
        return  # the same score again (a reload, a second tab): nothing to change
    inbound = InboundMessage(
        channel=CHANNEL,
        address=conversation.contact.email or "",
        text=str(score),
        provider_message_id=f"{invitation.id}:click:{score}:{client_id}",
        received_at=services.clock(),
    )
    reply = await services.conversation.handle(inbound, invitation_id=invitation.id, rescore=True)
    if reply.pending:  # clicked while the outbox is still recording the send
        await services.outbox.wait_until_sent(invitation.id)
        await services.conversation.handle(inbound, invitation_id=invitation.id, rescore=True)


def _page(content: str) -> HTMLResponse:
    return HTMLResponse(content, headers=HEADERS)


@router.get("/r/static/{name}", include_in_schema=False)
async def static(name: str, services: ServicesDep) -> Response:
    found = static_file(name, _brand(services))
    if found is None:
        raise NotFound("not found")
    content, media_type = found
    return Response(content, media_type=media_type, headers={"Cache-Control": "max-age=3600"})


@router.get("/r/{token}", response_class=HTMLResponse, summary="An emailed rating link")
async def rating_page(token: str, services: ServicesDep, score: str = "") -> HTMLResponse:
    """Shows the score to confirm; records nothing (mail scanners open every link)."""
    _, value, locale = await _rating(services, token, score)
    action = f"/r/{token}?score={value}"
    nonce = secrets.token_hex(8)
    return _page(rate_page(locale, action=action, score=value, nonce=nonce, brand=_brand(services)))


@router.post("/r/{token}", summary="Record the score of an emailed rating link")
async def rate(token: str, request: Request, services: ServicesDep, score: str = "") -> Any:
    """JSON from the page's script answers {"next": chat URL}; the form gets a 303 there."""
    fields, is_json = await _fields(request)
    client_id = fields.get("client_message_id") or "form"
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise _refused(
            Unprocessable, page=not is_json, detail="bad client id", brand=_brand(services)
        )
    value = fields.get("score", score)
    conversation, chosen, _ = await _rating(services, token, value, page=not is_json)
    await _record(services, conversation, chosen, client_id)
    chat = services.links.url(conversation.invitation.id)
    if is_json:
        return JSONResponse({"next": chat}, headers=HEADERS)
    return RedirectResponse(chat, status_code=303, headers=HEADERS)


@router.get("/u/{token}", response_class=HTMLResponse, summary="Unsubscribe: confirm page")
async def unsubscribe_confirm(token: str, services: ServicesDep) -> HTMLResponse:
    """Asks to confirm with a button; a GET never unsubscribes (scanners open links)."""
    contact_id, locale = await _unsubscriber(services, token)
    async with UnitOfWork(services.read_sessions) as uow:
        done = await uow.opt_outs.is_opted_out(contact_id, CHANNEL)
    action = None if done else f"/u/{token}"
    return _page(unsubscribe_page(locale, action=action, brand=_brand(services)))


@router.post("/u/{token}", response_class=HTMLResponse, summary="One-click unsubscribe")
async def unsubscribe(token: str, services: ServicesDep) -> HTMLResponse:
    """RFC 8058: the token alone authorises it (no cookies); 200, no redirect; idempotent."""
    contact_id, locale = await _unsubscriber(services, token)
    async with UnitOfWork(services.sessions) as uow:
        await recorder.opt_out(uow, contact_id, CHANNEL, source="unsubscribe", now=services.clock())
        await uow.commit()
    log.info("contact %s unsubscribed from email", contact_id)
    return _page(unsubscribe_page(locale, action=None, brand=_brand(services)))


async def _unsubscriber(services: Services, token: str) -> tuple[int, str]:
    try:
        contact_id = _links(services).open_unsubscribe(token)
    except InvalidLink as exc:
        raise _refused(Gone if exc.expired else NotFound, brand=_brand(services)) from exc
    async with UnitOfWork(services.read_sessions) as uow:
        contact = await uow.contacts.get(contact_id)
    if contact is None:
        raise _refused(NotFound, brand=_brand(services))
    return contact_id, page_locale(contact.locale)
