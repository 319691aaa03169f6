"""Signed help-desk webhooks under /webhooks: a generic trigger event and Zendesk tickets."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from bot.errors import NotFound, PayloadTooLarge, Unauthorized
from bot.http.schemas import ApiError
from bot.http.triggers import CONFLICTS, TriggerIn, TriggerOut, trigger_and_answer
from bot.invitations.helpdesk import (
    GENERIC_SIGNATURE_HEADER,
    GENERIC_TIMESTAMP_HEADER,
    ZENDESK_SIGNATURE_HEADER,
    ZENDESK_TIMESTAMP_HEADER,
    Ignored,
    ZendeskEvent,
    check_generic,
    check_zendesk,
    delivery_key,
    zendesk_trigger,
)
from bot.invitations.triggers import webhook_caller
from bot.runtime.services import ServicesDep

log = logging.getLogger("bot.hooks")

# Trigger bodies are a few hundred bytes; this bounds what an unsigned sender makes us hash.
MAX_BODY_BYTES = 64 * 1024

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiError, "description": "Missing, invalid or stale signature"},
    404: {"model": ApiError, "description": "Webhook not configured, or unknown survey"},
    409: {"model": ApiError, "description": CONFLICTS},
    413: {"model": ApiError, "description": "Body larger than 64 KiB"},
}


class IgnoredOut(BaseModel):
    status: Literal["ignored"] = "ignored"
    reason: str


router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=ERRORS)


@router.post("/events/{source}", response_model=TriggerOut, status_code=status.HTTP_202_ACCEPTED)
async def post_event(source: str, request: Request, services: ServicesDep) -> TriggerOut:
    """A POST /api/v1/triggers body, signed with the source's secret (docs/helpdesks.md)."""
    secret = services.settings.webhook_secrets.get(source)
    if secret is None:
        raise NotFound(f"no webhook secret is configured for {source!r}", field="source")
    body = await _raw_body(request)
    timestamp = request.headers.get(GENERIC_TIMESTAMP_HEADER)
    refused = check_generic(
        secret.get_secret_value(),
        timestamp=timestamp,
        signature=request.headers.get(GENERIC_SIGNATURE_HEADER),
        body=body,
        now=services.clock(),
    )
    _refuse_unless_signed(refused, source)
    try:
        trigger_in = TriggerIn.model_validate_json(body)
    except ValidationError as exc:
        raise _body_error(exc) from None
    command = trigger_in.command(caller=webhook_caller(source))
    if command.idempotency_key is None:
        # Without a key of its own, a replay of this signed request is still the same trigger.
        command = replace(command, idempotency_key=delivery_key(timestamp or "", body))
    return await trigger_and_answer(services, command)


@router.post(
    "/zendesk",
    response_model=TriggerOut | IgnoredOut,
    status_code=status.HTTP_202_ACCEPTED,
)
async def post_zendesk(request: Request, services: ServicesDep) -> TriggerOut | IgnoredOut:
    """A Zendesk webhook: a solved ticket schedules one survey of its requester."""
    settings = services.settings
    if settings.zendesk_webhook_secret is None or settings.helpdesk_survey is None:
        raise NotFound(
            "the Zendesk webhook is off: set SURVEYBOT_ZENDESK_WEBHOOK_SECRET and "
            "SURVEYBOT_HELPDESK_SURVEY",
            field="source",
        )
    body = await _raw_body(request)
    refused = check_zendesk(
        settings.zendesk_webhook_secret.get_secret_value(),
        timestamp=request.headers.get(ZENDESK_TIMESTAMP_HEADER),
        signature=request.headers.get(ZENDESK_SIGNATURE_HEADER),
        body=body,
        now=services.clock(),
    )
    _refuse_unless_signed(refused, "zendesk")
    try:
        event = ZendeskEvent.model_validate_json(body)
    except ValidationError as exc:
        raise _body_error(exc) from None
    mapped = zendesk_trigger(
        event,
        survey=settings.helpdesk_survey,
        channel=settings.helpdesk_channel,
        delay_seconds=settings.helpdesk_delay_seconds,
    )
    if isinstance(mapped, Ignored):
        log.info("zendesk ticket %s ignored: %s", event.ticket.id, mapped.reason)
        return IgnoredOut(reason=mapped.reason)
    return await trigger_and_answer(services, mapped)


async def _raw_body(request: Request) -> bytes:
    # The signature covers the exact bytes sent, so the body is read raw, never re-serialised.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge("request body too large")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("request body too large")
    return body


def _refuse_unless_signed(refused: str | None, source: str) -> None:
    if refused is not None:
        log.warning("webhook %s refused: %s", source, refused)
        raise Unauthorized(refused)


def _body_error(exc: ValidationError) -> RequestValidationError:
    # The same 422 shape as a FastAPI-validated body: detail[].loc ends with the field.
    errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
    return RequestValidationError(errors)
