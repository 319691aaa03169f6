"""The email channel's web side: signed link tokens, the rating pages and one-click unsubscribe.

Rating links are scanner-safe: `GET /r/<token>?score=N` records nothing (mail scanners open every
link); the page's script, or its "Confirm" button without JavaScript, POSTs the score, and the
person continues on the web chat page of the same invitation. `POST /u/<token>` is the RFC 8058
one-click unsubscribe; `GET /u/<token>` only shows a confirm page.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.invitations import lifecycle, recorder
from bot.runtime.services import Services, ServicesDep
from bot.wiring.email_pages import STATIC, page_locale, rate_page, refusal_page, unsubscribe_page
from bot.wiring.web import HEADERS
from channels.base import InboundMessage
from channels.web import InvalidLink
from storage.repositories.invitations import Conversation
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

log = logging.getLogger("bot.wiring.email")

CHANNEL = "email"
RATE_SALT = "surveybot.email.rate"
UNSUBSCRIBE_SALT = "surveybot.email.unsubscribe"
# Unsubscribe links must keep working in old emails long after the survey closed.
UNSUBSCRIBE_MAX_AGE = 400 * 24 * 3600
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_BODY = 4096


class EmailLinks:
    """Signs the per-purpose tokens of email links and reads them back."""

    def __init__(self, *, secret: str, base_url: str) -> None:
        self._rate = URLSafeTimedSerializer(secret, salt=RATE_SALT)
        self._unsubscribe = URLSafeTimedSerializer(secret, salt=UNSUBSCRIBE_SALT)
        self._base_url = base_url.rstrip("/")

    def rate_token(self, invitation_id: str) -> str:
        return self._rate.dumps(invitation_id)

    def rate_url(self, token: str, score: int | str) -> str:
        return f"{self._base_url}/r/{token}?score={score}"

    def unsubscribe_url(self, contact_id: int) -> str:
        return f"{self._base_url}/u/{self._unsubscribe.dumps([contact_id, 'email'])}"

    def open_rate(self, token: str, *, max_age_seconds: int) -> str:
        """The invitation id inside a rating token, or InvalidLink."""
        value = _load(self._rate, token, max_age_seconds)
        if not isinstance(value, str):
            raise InvalidLink("the link is not valid")
        return value

    def open_unsubscribe(self, token: str) -> int:
        """The contact id inside an unsubscribe token, or InvalidLink."""
        value = _load(self._unsubscribe, token, UNSUBSCRIBE_MAX_AGE)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not isinstance(value[0], int)
            or value[1] != "email"
        ):
            raise InvalidLink("the link is not valid")
        return value[0]


def _load(serializer: URLSafeTimedSerializer, token: str, max_age: int) -> Any:
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidLink("the link has expired", expired=True) from exc
    except BadSignature as exc:
        raise InvalidLink("the link is not valid") from exc


class _Refused(Exception):
    def __init__(self, status: int, locale: str = "en") -> None:
        super().__init__(status)
        self.status = status
        self.locale = locale


def _links(services: Services) -> EmailLinks:
    if CHANNEL not in services.channels:
        raise _Refused(404)
    return EmailLinks(secret=services.secret, base_url=services.settings.base_url())


async def _rating(
    services: Services, token: str, raw_score: object
) -> tuple[Conversation, int, str]:
    """The conversation, score and page locale a rating link stands for, or _Refused."""
    try:
        invitation_id = _links(services).open_rate(token, max_age_seconds=services.link_max_age())
    except InvalidLink as exc:
        raise _Refused(410 if exc.expired else 404) from exc
    async with UnitOfWork(services.read_sessions) as uow:
        conversation = await uow.invitations.conversation(invitation_id)
    if conversation is None:
        raise _Refused(404)
    invitation = conversation.invitation
    locale = page_locale(invitation.locale, conversation.contact.locale)
    survey = to_domain(conversation.survey)
    score = _int(raw_score)
    if score is None or not survey.low <= score <= survey.high:
        raise _Refused(404, locale)
    if lifecycle.withdrawn(invitation.status):
        raise _Refused(410, locale)
    return conversation, score, locale


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


async def _fields(request: Request) -> tuple[dict[str, Any], bool]:
    """The POSTed fields (JSON from the page's script, or a form) and whether it was JSON."""
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise HTTPException(413, "request body too large")
    if "application/json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise HTTPException(422, "the body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise HTTPException(422, "the body must be a JSON object")
        return data, True
    try:
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError as exc:  # more fields than any form of ours has
        raise HTTPException(422, "too many form fields") from exc
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


def _page(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code, headers=HEADERS)


def build_email_router() -> APIRouter:
    router = APIRouter(tags=["email"])

    @router.get("/r/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "not found")
        content, media_type = STATIC[name]
        return Response(content, media_type=media_type, headers={"Cache-Control": "max-age=3600"})

    @router.get("/r/{token}", response_class=HTMLResponse, summary="An emailed rating link")
    async def rating_page(token: str, services: ServicesDep, score: str = "") -> HTMLResponse:
        """Shows the score to confirm; records nothing (mail scanners open every link)."""
        try:
            _, value, locale = await _rating(services, token, score)
        except _Refused as refused:
            return _page(refusal_page(refused.locale), refused.status)
        action = f"/r/{token}?score={value}"
        return _page(rate_page(locale, action=action, score=value, nonce=secrets.token_hex(8)))

    @router.post("/r/{token}", summary="Record the score of an emailed rating link")
    async def rate(token: str, request: Request, services: ServicesDep, score: str = "") -> Any:
        """JSON from the page's script answers {"next": chat URL}; the form gets a 303 there."""
        fields, is_json = await _fields(request)
        client_id = fields.get("client_message_id") or "form"
        try:
            if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
                raise _Refused(422)
            conversation, value, _ = await _rating(services, token, fields.get("score", score))
        except _Refused as refused:
            if is_json:
                detail = "the link is not valid" if refused.status != 422 else "bad client id"
                return JSONResponse({"detail": detail}, refused.status, headers=HEADERS)
            return _page(refusal_page(refused.locale), refused.status)
        await _record(services, conversation, value, client_id)
        chat = services.links.url(conversation.invitation.id)
        if is_json:
            return JSONResponse({"next": chat}, headers=HEADERS)
        return RedirectResponse(chat, status_code=303, headers=HEADERS)

    @router.get("/u/{token}", response_class=HTMLResponse, summary="Unsubscribe: confirm page")
    async def unsubscribe_confirm(token: str, services: ServicesDep) -> HTMLResponse:
        """Asks to confirm with a button; a GET never unsubscribes (scanners open links)."""
        try:
            contact_id, locale = await _unsubscriber(services, token)
        except _Refused as refused:
            return _page(refusal_page(refused.locale), refused.status)
        async with UnitOfWork(services.read_sessions) as uow:
            done = await uow.opt_outs.is_opted_out(contact_id, CHANNEL)
        return _page(unsubscribe_page(locale, action=None if done else f"/u/{token}"))

    @router.post("/u/{token}", response_class=HTMLResponse, summary="One-click unsubscribe")
    async def unsubscribe(token: str, services: ServicesDep) -> HTMLResponse:
        """RFC 8058: the token alone authorises it (no cookies); 200, no redirect; idempotent."""
        try:
            contact_id, locale = await _unsubscriber(services, token)
        except _Refused as refused:
            return _page(refusal_page(refused.locale), refused.status)
        async with UnitOfWork(services.sessions) as uow:
            await recorder.opt_out(
                uow, contact_id, CHANNEL, source="unsubscribe", now=services.clock()
            )
            await uow.commit()
        log.info("contact %s unsubscribed from email", contact_id)
        return _page(unsubscribe_page(locale, action=None))

    return router


async def _unsubscriber(services: Services, token: str) -> tuple[int, str]:
    try:
        contact_id = _links(services).open_unsubscribe(token)
    except InvalidLink as exc:
        raise _Refused(410 if exc.expired else 404) from exc
    async with UnitOfWork(services.read_sessions) as uow:
        contact = await uow.contacts.get(contact_id)
    if contact is None:
        raise _Refused(404)
    return contact_id, page_locale(contact.locale)
