"""The WhatsApp adapter alone: twilio's client against the stand-in (sessions, quick replies,
templates), errors mapped."""

from __future__ import annotations

import pytest

from channels.base import Choice, OutboundMessage, PermanentSendError, Template, TransientSendError
from channels.whatsapp import WhatsAppChannel, address
from tests.standins.twilio_api import TwilioStandIn, twilio_error

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"
SENDER = "+15005550006"
PHONE = "+14155550123"
SCALE = tuple(Choice(str(n), str(n)) for n in (1, 2, 3))


def question(choices: tuple[Choice, ...] = SCALE, **kwargs: object) -> OutboundMessage:
    hint = "Reply with a number from 1 to 3." if choices else None
    return OutboundMessage(
        channel="whatsapp",
        address=PHONE,
        text="How did we do?",
        choices=choices,
        choices_hint=hint,
        **kwargs,  # type: ignore[arg-type]
    )


def channel_at(twilio: TwilioStandIn) -> WhatsAppChannel:
    return WhatsAppChannel(
        account_sid=ACCOUNT, auth_token=TOKEN, from_number=SENDER, api_base=twilio.url
    )


def test_whatsapp_addresses() -> None:
    assert address(PHONE) == f"whatsapp:{PHONE}"
    assert address(f"whatsapp:{PHONE}") == f"whatsapp:{PHONE}"


async def test_three_choices_go_as_one_quick_reply_made_once_ever() -> None:
    async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
        twilio.customer_wrote(f"whatsapp:{PHONE}")
        channel = channel_at(twilio)
        await channel.start()
        try:
            first = await channel.send(question())
            second = await channel.send(question())
        finally:
            await channel.close()
        # Another process (or a restart) finds the content in the account instead of making it.
        again = channel_at(twilio)
        await again.start()
        try:
            await again.send(question())
        finally:
            await again.close()
        sent = twilio.sent
        assert [a.sid for a in sent[:2]] == [first.provider_message_id, second.provider_message_id]
        assert sent[2].content_sid == sent[0].content_sid
        assert sent[0].to == f"whatsapp:{PHONE}" and sent[0].fields["From"] == f"whatsapp:{SENDER}"
        assert sent[0].content_sid == sent[1].content_sid  # one content for one wording
        assert len(twilio.contents) == 1
        assert sent[0].shown == "How did we do?"
        assert sent[0].buttons == (("1", "1"), ("2", "2"), ("3", "3"))
        assert "Body" not in sent[0].fields


async def test_longer_scales_and_long_titles_go_as_text_with_the_hint() -> None:
    five = tuple(Choice(str(n), str(n)) for n in range(1, 6))
    wordy = (Choice("The answer came far too late", "slow"),)
    async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
        twilio.customer_wrote(f"whatsapp:{PHONE}")
        channel = channel_at(twilio)
        await channel.start()
        try:
            await channel.send(question(five))
            await channel.send(question(wordy))
        finally:
            await channel.close()
        assert [a.body for a in twilio.sent] == [
            "How did we do?\nReply with a number from 1 to 3.",
            "How did we do?\nReply with a number from 1 to 3.",
        ]
        assert not twilio.contents


async def test_a_template_goes_with_its_variables_outside_the_session() -> None:
    async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
        sid = twilio.approve_template("Hi {{1}}, how did {{2}} do? Reply 1 to 5.")
        channel = channel_at(twilio)
        await channel.start()
        try:
            template = Template(sid, {"1": "Zoë", "2": "Ana"})
            await channel.send(question(template=template))
            # Free text to someone who has not written: WhatsApp refuses it, for good.
            with pytest.raises(PermanentSendError) as refused:
                await channel.send(question(()))
        finally:
            await channel.close()
        [sent] = twilio.sent
        assert sent.content_sid == sid
        assert sent.content_variables == {"1": "Zoë", "2": "Ana"}
        assert sent.shown == "Hi Zoë, how did Ana do? Reply 1 to 5."
        assert refused.value.code == "63016" and not refused.value.suppress


async def test_send_errors_map_to_retry_or_stop() -> None:
    async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
        twilio.customer_wrote(f"whatsapp:{PHONE}")
        channel = channel_at(twilio)
        await channel.start()
        try:
            twilio.fail_next(twilio_error(63018, 429), twilio_error(63003))
            with pytest.raises(TransientSendError):
                await channel.send(question(()))
            with pytest.raises(PermanentSendError) as gone:
                await channel.send(question(()))
        finally:
            await channel.close()
        assert gone.value.suppress  # the number has no WhatsApp: stop using it there
