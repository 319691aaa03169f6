"""The conversation engine's states, on SQLite and PostgreSQL, through real storage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event

from bot.runtime.services import Services
from channels.base import InboundMessage
from storage.models import InvitationStatus, Step
from storage.uow import UnitOfWork
from surveys.texts import builtin
from tests.conftest import FakeClock
from tests.support import (
    add_survey,
    deliver,
    fire,
    invitation,
    response,
    say,
    sms_services,
    texts,
)


async def started(services: Services, **survey: object) -> str:
    await add_survey(services, **survey)
    result = await fire(services)
    assert await deliver(services) == 1
    return result.invitation.id


async def test_score_then_comment_then_done(services: Services) -> None:
    inv_id = await started(services)
    reply = await say(services, inv_id, "2")
    assert texts(reply) == [builtin("follow_up.negative", "en")]
    assert (await invitation(services, inv_id)).step == Step.AWAITING_COMMENT
    reply = await say(services, inv_id, "The wait was far too long")
    stored = await response(services, inv_id)
    assert stored is not None
    assert (stored.score, stored.comment, stored.channel) == (2, "The wait was far too long", "web")
    done = await invitation(services, inv_id)
    assert (done.status, done.step) == (InvitationStatus.COMPLETED, Step.DONE)
    assert texts(reply) == [builtin("thank_you.negative", "en")]


async def test_score_with_words_skips_the_comment_question(services: Services) -> None:
    inv_id = await started(services)
    await say(services, inv_id, "5 - quick and friendly")
    stored = await response(services, inv_id)
    assert stored is not None and (stored.score, stored.comment) == (5, "quick and friendly")
    assert (await invitation(services, inv_id)).status == InvitationStatus.COMPLETED


async def test_skipping_the_comment_is_fine(services: Services) -> None:
    inv_id = await started(services)
    await say(services, inv_id, "4")
    await say(services, inv_id, "skip")
    stored = await response(services, inv_id)
    assert stored is not None and (stored.score, stored.comment) == (4, None)
    assert (await invitation(services, inv_id)).status == InvitationStatus.COMPLETED


async def test_reprompts_twice_then_closes_politely(services: Services) -> None:
    inv_id = await started(services)
    first = await say(services, inv_id, "hmm not sure")
    second = await say(services, inv_id, "11")
    assert "1" in texts(first)[0] and "5" in texts(first)[0]  # says what it accepts
    assert texts(first) != texts(second)  # unreadable vs out of range
    third = await say(services, inv_id, "whatever")
    closed = await invitation(services, inv_id)
    assert (closed.status, closed.step) == (InvitationStatus.CLOSED, Step.DONE)
    assert await response(services, inv_id) is None
    late = await say(services, inv_id, "5")
    assert len(third.messages) == 1 and len(late.messages) == 1
    assert await response(services, inv_id) is None


async def test_reasons_after_a_low_score(services: Services) -> None:
    inv_id = await started(
        services, key="support-csat", metric="csat", reasons=["Slow reply", "Not solved", "Rude"]
    )
    reply = await say(services, inv_id, "1")
    assert [c.value for c in reply.messages[0].choices] == ["Slow reply", "Not solved", "Rude"]
    assert (await invitation(services, inv_id)).step == Step.AWAITING_REASON
    await say(services, inv_id, "2")  # by its number in the list
    await say(services, inv_id, "Still broken after three calls")
    stored = await response(services, inv_id)
    assert stored is not None
    assert (stored.score, stored.reason, stored.comment) == (
        1,
        "Not solved",
        "Still broken after three calls",
    )


async def test_no_reasons_after_a_high_score(services: Services) -> None:
    inv_id = await started(services, reasons=["Slow reply"])
    await say(services, inv_id, "5")
    assert (await invitation(services, inv_id)).step == Step.AWAITING_COMMENT


async def test_redelivered_message_changes_nothing(services: Services) -> None:
    inv_id = await started(services)
    first = await say(services, inv_id, "3", message_id="dup-1")
    again = await say(services, inv_id, "3", message_id="dup-1")
    assert not first.duplicate and again.duplicate and again.messages == []
    async with UnitOfWork(services.sessions) as uow:
        inbound = [m for m in await uow.messages.transcript(inv_id) if m.direction == "in"]
    assert len(inbound) == 1
    assert (await invitation(services, inv_id)).step == Step.AWAITING_COMMENT


async def test_late_reply_after_expiry_gets_closed_answer(
    services: Services, clock: FakeClock
) -> None:
    inv_id = await started(services)
    clock.advance(days=7, seconds=1)
    reply = await say(services, inv_id, "5")
    assert len(reply.messages) == 1
    assert await response(services, inv_id) is None
    assert (await invitation(services, inv_id)).status == InvitationStatus.EXPIRED


async def test_opt_out_at_every_step(services: Services) -> None:
    await add_survey(services, throttle_days=0)
    for steps in ([], ["3"]):
        result = await fire(services)
        await deliver(services)
        inv_id = result.invitation.id
        for text in steps:
            await say(services, inv_id, text)
        await say(services, inv_id, "STOP")
        stopped = await invitation(services, inv_id)
        assert stopped.step == Step.DONE
        async with UnitOfWork(services.sessions) as uow:
            assert await uow.opt_outs.is_opted_out(stopped.contact_id, "web")
            await uow.opt_outs.remove(stopped.contact_id, "web")
            await uow.commit()
    # the score given before STOP is kept
    stored = await response(services, result.invitation.id)
    assert stored is not None and stored.score == 3


async def test_opted_out_contact_is_not_surveyed_until_opt_in(services: Services) -> None:
    await add_survey(services, throttle_days=0)
    first = await fire(services)
    await deliver(services)
    await say(services, first.invitation.id, "stop please")
    skipped = await fire(services)
    assert (skipped.invitation.status, skipped.invitation.skip_reason) == ("skipped", "opted_out")
    await say(services, first.invitation.id, "START")
    again = await fire(services)
    assert again.invitation.status == "scheduled"


async def test_pressing_another_score_before_commenting_changes_it(services: Services) -> None:
    inv_id = await started(services, reasons=["Slow reply"])
    await say(services, inv_id, "1")  # low: the reasons follow
    inbound_rescore = await services.conversation.handle(
        _pressed(services, inv_id, "5"), invitation_id=inv_id, rescore=True
    )
    assert texts(inbound_rescore) == [builtin("follow_up.positive", "en")]
    stored = await response(services, inv_id)
    assert stored is not None and (stored.score, stored.reason) == (5, None)
    await say(services, inv_id, "Lovely")
    again = await services.conversation.handle(
        _pressed(services, inv_id, "2"), invitation_id=inv_id, rescore=True
    )
    assert texts(again) == [builtin("already_answered", "en")]
    stored = await response(services, inv_id)
    assert stored is not None and (stored.score, stored.comment) == (5, "Lovely")


def _pressed(services: Services, inv_id: str, score: str) -> InboundMessage:
    return InboundMessage(
        channel="web",
        address=inv_id,
        text=score,
        provider_message_id=f"press-{inv_id}-{score}",
        received_at=services.clock(),
    )


PHONE = "+14155550123"


@pytest.fixture
async def sms(database_url: str, clock: FakeClock) -> AsyncIterator[Services]:
    services, _channel = await sms_services(database_url, clock)
    try:
        yield services
    finally:
        await services.close()


async def sms_started(services: Services) -> str:
    await add_survey(services)
    result = await fire(services, channel="sms", contact={"external_id": "cust-1", "phone": PHONE})
    assert await deliver(services) == 1
    return result.invitation.id


def texted(services: Services, text: str, sid: str) -> InboundMessage:
    return InboundMessage(
        channel="sms",
        address=PHONE,
        text=text,
        provider_message_id=sid,
        received_at=services.clock(),
    )


async def test_replies_waiting_for_one_conversation_take_turns(services: Services) -> None:
    inv_id = await started(services)
    async with UnitOfWork(services.sessions) as uow:
        await uow.invitations.get(inv_id, lock=True)  # another turn of it is under way
        score = asyncio.create_task(say(services, inv_id, "2"))
        await asyncio.sleep(0.3)
        comment = asyncio.create_task(say(services, inv_id, "Far too slow"))
        await asyncio.sleep(0.3)
        await uow.commit()
    # The comment waited for the score's turn and sees the response that turn stored.
    assert texts(await score) == [builtin("follow_up.negative", "en")]
    assert texts(await comment) == [builtin("thank_you.negative", "en")]
    stored = await response(services, inv_id)
    assert stored is not None and (stored.score, stored.comment) == (2, "Far too slow")
    assert (await invitation(services, inv_id)).status == InvitationStatus.COMPLETED


async def test_texts_waiting_for_one_conversation_take_turns(sms: Services) -> None:
    inv_id = await sms_started(sms)
    async with UnitOfWork(sms.sessions) as uow:
        await uow.invitations.get(inv_id, lock=True)
        score = asyncio.create_task(sms.conversation.handle(texted(sms, "5", "SM-a")))
        await asyncio.sleep(0.3)
        comment = asyncio.create_task(sms.conversation.handle(texted(sms, "Great", "SM-b")))
        await asyncio.sleep(0.3)
        await uow.commit()
    assert texts(await score)[0].startswith(builtin("follow_up.positive", "en"))
    assert texts(await comment) == [builtin("thank_you.positive", "en")]
    stored = await response(sms, inv_id)
    assert stored is not None and (stored.score, stored.comment) == (5, "Great")


async def test_an_answer_takes_few_statements(sms: Services) -> None:
    """The capacity of the answer path: one read (locking the invitation) and one write per
    answer on PostgreSQL besides BEGIN and COMMIT, the outbox's events included; SQLite adds its
    BEGIN and one write a table."""
    inv_id = await sms_started(sms)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = sms.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await sms.conversation.handle(texted(sms, "2", "SM-1"))
        at_score = len(statements)
        await sms.conversation.handle(texted(sms, "Too slow", "SM-2"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    most = 2 if engine.dialect.name == "postgresql" else 6
    assert (at_score, len(statements) - at_score) == (most, most)
    async with UnitOfWork(sms.sessions) as uow:
        transcript = await uow.messages.transcript(inv_id)
    # Each text is stored before the replies to it (one INSERT stores both).
    assert [m.direction for m in transcript] == ["out", "in", "out", "in", "out"]
    assert [m.text for m in transcript if m.direction == "in"] == ["2", "Too slow"]
    assert transcript[-1].text == builtin("thank_you.negative", "en")


async def test_a_redelivered_text_changes_nothing_after_the_conversation_moved_on(
    sms: Services,
) -> None:
    inv_id = await sms_started(sms)
    await sms.conversation.handle(texted(sms, "2", "SM-1"))
    again = await sms.conversation.handle(texted(sms, "2", "SM-1"))
    assert again.duplicate and again.messages == []
    stored = await response(sms, inv_id)
    assert stored is not None and (stored.score, stored.comment) == (2, None)
    assert (await invitation(sms, inv_id)).step == Step.AWAITING_COMMENT
    async with UnitOfWork(sms.sessions) as uow:
        assert len(await uow.messages.transcript(inv_id)) == 3  # question, score, follow-up
