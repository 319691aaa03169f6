"""What the privacy tests share: a contact with data in every table, another beside them, and a
search of every text column of every table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from bot.insight.tagging import Tagger
from bot.runtime.services import Services
from channels.base import Channel, InboundMessage
from channels.web import WebChannel
from storage.models import CommentAnalysis, Message, Response, ResponseTheme
from storage.uow import UnitOfWork
from tests.conftest import FakeClock
from tests.support import add_survey, deliver, fire, say

SURVEY = "support-csat"
# The person to erase, with values found nowhere else, so a search for them finds only theirs.
PHONE_GIVEN = "+1 415-555-0199"
PHONE = "+14155550199"
EMAIL = "Zelda.Quixote@Example.org"
CHAT = "918273645"
PERSON: dict[str, Any] = {
    "external_id": "erase-me",
    "name": "Zelda Quixote",
    "email": EMAIL,
    "phone": PHONE_GIVEN,
    "telegram_chat_id": CHAT,
    "locale": "fi",
    "timezone": "Europe/Helsinki",
    "properties": {"plan": "platinum-zq", "employer": "Quixotic Ltd", "seats": 7},
}
TICKET = "TKT-ZQ-4411"
COMMENT = "The courier was slow, ask for me at flat 7B"
BEFORE_KNOWN = f"who is this? Zelda here, call me on {PHONE_GIVEN}"
# Everything of theirs a search must no longer find (case-insensitively).
NEEDLES = (
    "erase-me",
    "Zelda",
    "Quixote",
    EMAIL,
    PHONE,
    PHONE_GIVEN,
    "4155550199",
    CHAT,
    "platinum-zq",
    "Quixotic",
    TICKET,
    "idem-zq",
    COMMENT,
    "flat 7B",
    BEFORE_KNOWN,
)
OTHER: dict[str, Any] = {
    "external_id": "keep-me",
    "name": "Bob Keeper",
    "email": "bob@keeper.example",
    "phone": "+14155550111",
    "properties": {"plan": "basic-bk"},
}
OTHER_COMMENT = "Quick and kind, thanks"


def fake_channels() -> dict[str, Channel]:
    """Stand-ins that accept every send, so every channel is on."""
    return {name: WebChannel() for name in ("telegram", "sms", "email")}


@dataclass(frozen=True, slots=True)
class Seeded:
    answered: str  # the person's answered web conversation
    pending: str  # scheduled for tomorrow on email
    open: str  # sent on Telegram, not answered
    other: str  # the other contact's answered conversation


async def inbound(services: Services, channel: str, address: str, text: str) -> None:
    """A message from a person, handed to the engine as a channel's webhook would."""
    await services.conversation.handle(
        InboundMessage(
            channel=channel,
            address=address,
            text=text,
            provider_message_id=f"{channel}-{address}-{text}",
            received_at=services.clock(),
        )
    )


async def seed(services: Services) -> Seeded:
    """The person: a message before they were known, an answered conversation with a comment
    (tagged with a theme), a scheduled and an open invitation, opt-outs on SMS and email, a
    Telegram link claim. The other contact: an answered conversation."""
    await add_survey(services, key=SURVEY, throttle_days=0, themes={"speed": ["slow", "quick"]})
    await inbound(services, "sms", PHONE, BEFORE_KNOWN)
    answered = await fire(
        services,
        contact=PERSON,
        properties={"ticket": TICKET},
        idempotency_key="idem-zq-1",
    )
    await deliver(services)
    await say(services, answered.invitation.id, "2")
    await say(services, answered.invitation.id, COMMENT)
    pending = await fire(
        services,
        contact={"external_id": "erase-me"},
        channel="email",
        delay_seconds=86400,
        idempotency_key="idem-zq-2",
    )
    opened = await fire(services, contact={"external_id": "erase-me"}, channel="telegram")
    other = await fire(services, contact=OTHER, properties={"ticket": "TKT-B-1"})
    await deliver(services)
    await say(services, other.invitation.id, "5")
    await say(services, other.invitation.id, OTHER_COMMENT)
    async with UnitOfWork(services.sessions) as uow:
        contact = await uow.contacts.get_by_external_id("erase-me")
        assert contact is not None and contact.id is not None and contact.email is not None
        await uow.link_claims.claim("a-signed-link-payload", CHAT, contact.id, services.clock())
        await uow.commit()
    await inbound(services, "sms", PHONE, "STOP")
    await inbound(services, "email", contact.email, "STOP")
    tagger = Tagger(sessions=services.sessions, clock=services.clock, holder="tests")
    assert await tagger.tick() == 2
    return Seeded(
        answered.invitation.id, pending.invitation.id, opened.invitation.id, other.invitation.id
    )


def _text_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [
        column
        for column in table.columns
        if isinstance(column.type, sa.String | sa.Text | sa.JSON)
        or isinstance(getattr(column.type, "impl", None), sa.String | sa.JSON)
    ]


async def found_anywhere(services: Services, needles: tuple[str, ...]) -> list[str]:
    """'table.column: needle' for every needle found in any text or JSON column of any table."""
    wanted = [needle.lower() for needle in needles]
    hits: list[str] = []
    async with UnitOfWork(services.read_sessions) as uow:
        for table in SQLModel.metadata.sorted_tables:
            columns = _text_columns(table)
            if not columns:
                continue
            for row in (await uow.session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    hits.extend(
                        f"{table.name}.{column.name}: {needle}"
                        for needle in wanted
                        if needle in text.lower()
                    )
    return hits


# Retention: comments of two ages.
OLD_COMMENT = "slow answer, weeks ago"
NEW_COMMENT = "slow but fine today"


async def conversation(services: Services, external_id: str, comment: str) -> None:
    result = await fire(services, contact={"external_id": external_id})
    await deliver(services)
    await say(services, result.invitation.id, "2")
    await say(services, result.invitation.id, comment)


async def seed_ages(services: Services, clock: FakeClock) -> None:
    """Answered conversations with comments (and themes): three 40 days old, one of today."""
    await add_survey(services, throttle_days=0, themes={"speed": ["slow"]})
    for n in range(3):
        await conversation(services, f"old-{n}", OLD_COMMENT)
    clock.advance(days=40)
    await conversation(services, "new", NEW_COMMENT)
    assert await Tagger(sessions=services.sessions, clock=clock, holder="t").tick() == 4


async def state(services: Services) -> dict[str, Any]:
    """Counts of what retention purges, and the comments left."""
    async with UnitOfWork(services.read_sessions) as uow:

        async def count(table: type) -> int:
            stmt = select(func.count()).select_from(table)
            return int((await uow.session.execute(stmt)).scalar_one())

        comments = (await uow.session.execute(select(col(Response.comment)))).scalars().all()
        return {
            "messages": await count(Message),
            "responses": await count(Response),
            "comments": sorted(c for c in comments if c),
            "analyses": await count(CommentAnalysis),
            "themes": await count(ResponseTheme),
        }
