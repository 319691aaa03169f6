"""Test helpers that drive services the way the API and channels do."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from bot.conversation.engine import Reply
from bot.http.triggers import TriggerIn
from bot.invitations.triggers import TriggerResult, trigger
from bot.runtime.services import Services
from bot.runtime.survey_files import load_surveys
from channels.base import InboundMessage, OutboundMessage, SendResult
from storage.models import Contact, Invitation, Response
from storage.uow import UnitOfWork
from surveys.definitions import Survey
from tests.conftest import FakeClock, services_with

_ids = itertools.count(1)


async def add_survey(services: Services, **fields: Any) -> Survey:
    fields.setdefault("key", "support-csat")
    fields.setdefault("metric", "csat")
    survey = Survey.model_validate(fields)
    await load_surveys(services.sessions, [survey])
    return survey


async def fire(
    services: Services, survey: str = "support-csat", *, caller: str = "tests", **body: Any
) -> TriggerResult:
    body.setdefault("contact", {"external_id": "cust-1"})
    body.setdefault("channel", "web")
    request = TriggerIn.model_validate({"survey": survey, **body}).command(caller=caller)
    return await trigger(
        services.sessions,
        request,
        now=services.clock(),
        channels=services.catalog,
        suppression=services.suppression,
    )


async def deliver(services: Services) -> int:
    return await services.outbox.send_due()


async def say(
    services: Services, invitation_id: str, text: str, message_id: str | None = None
) -> Reply:
    inbound = InboundMessage(
        channel="web",
        address=invitation_id,
        text=text,
        provider_message_id=message_id or f"m{next(_ids)}",
        received_at=services.clock(),
    )
    return await services.conversation.handle(inbound, invitation_id=invitation_id)


async def invitation(services: Services, invitation_id: str) -> Invitation:
    async with UnitOfWork(services.sessions) as uow:
        found = await uow.invitations.get(invitation_id)
    assert found is not None
    return found


async def response(services: Services, invitation_id: str) -> Response | None:
    async with UnitOfWork(services.sessions) as uow:
        return await uow.responses.for_invitation(invitation_id)


def at(*args: int) -> datetime:
    """A moment in UTC: at(2026, 11, 2, 14, 0)."""
    return datetime(*args, tzinfo=UTC)


async def sms_services(database_url: str, clock: FakeClock) -> tuple[Services, ScriptedChannel]:
    """Services whose SMS channel is a ScriptedChannel, without a rate limit."""
    channel = ScriptedChannel()
    services = await services_with(database_url, clock, {"sms": channel}, sms_rate_per_second=0)
    return services, channel


async def answer(services: Services, invitation_id: str, text: str) -> None:
    """`say`, when the reply does not matter."""
    await say(services, invitation_id, text)


def texts(reply: Reply) -> list[str]:
    return [m.text for m in reply.messages]


class ScriptedChannel:
    """A channel whose sends follow a script of results and errors, recording each call."""

    name = "sms"

    def __init__(self, *script: Exception | None, prefix: str = "SM") -> None:
        self.script = list(script)
        self.prefix = prefix
        self.sent: list[OutboundMessage] = []

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        return SendResult(provider_message_id=f"{self.prefix}{len(self.sent)}")


async def store_responses(services: Services, survey: str, rows: list[tuple[Any, ...]]) -> None:
    """Store answers as an import would: (answered_at, channel, plan, agent, score, reason,
    comment) per row, each from a new contact, with `plan` and `agent` as properties."""
    async with UnitOfWork(services.sessions) as uow:
        row = await uow.surveys.get_by_key(survey)
        assert row is not None and row.id is not None
        for answered_at, channel, plan, agent, score, reason, comment in rows:
            contact = Contact(external_id=f"stored-{next(_ids)}")
            uow.session.add(contact)
            await uow.flush()
            assert contact.id is not None
            uow.session.add(
                Response(
                    survey_id=row.id,
                    contact_id=contact.id,
                    channel=channel,
                    score=score,
                    reason=reason,
                    comment=comment,
                    answered_at=answered_at,
                    properties={"plan": plan, "agent": agent},
                    source="import",
                )
            )
        await uow.commit()
