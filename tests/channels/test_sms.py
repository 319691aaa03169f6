"""The SMS adapter alone: twilio's client against the stand-in, errors mapped, segments counted."""

from __future__ import annotations

import pytest

from channels.base import OutboundMessage, PermanentSendError, TransientSendError
from channels.sms import GSM7_BASIC, GSM7_EXTENSION, SmsChannel, encoding, segments
from surveys.texts import LOCALES, builtin, render
from surveys.texts_catalog import CATALOG
from tests.e2e.conftest import free_port
from tests.standins.twilio_api import TwilioStandIn, too_many_requests, twilio_error

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"
SENDER = "+15005550006"
PHONE = "+14155550123"


async def test_unreachable_twilio_is_a_transient_error() -> None:
    channel = SmsChannel(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        from_number=SENDER,
        api_base=f"http://127.0.0.1:{free_port()}",
    )
    await channel.start()
    try:
        with pytest.raises(TransientSendError):
            await channel.send(OutboundMessage(channel="sms", address=PHONE, text="Hi"))
    finally:
        await channel.close()


async def test_send_errors_map_to_retry_or_stop() -> None:
    async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
        channel = SmsChannel(
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            messaging_service_sid="MG" + "0" * 32,
            api_base=twilio.url,
        )
        await channel.start()
        try:
            twilio.fail_next(
                twilio_error(21611),
                too_many_requests(retry_after=3),
                twilio_error(21614, message=f"The 'To' number {PHONE} is not a mobile number"),
            )
            message = OutboundMessage(channel="sms", address=PHONE, text="Hi")
            with pytest.raises(TransientSendError) as queue_full:
                await channel.send(message)
            with pytest.raises(TransientSendError) as limited:
                await channel.send(message)
            with pytest.raises(PermanentSendError) as not_mobile:
                await channel.send(message)
            assert (queue_full.value.code, limited.value.retry_after) == ("21611", 3.0)
            assert not_mobile.value.suppress and PHONE not in str(not_mobile.value)
            assert (await channel.send(message)).provider_message_id.startswith("SM")
            assert twilio.sent[0].fields["MessagingServiceSid"] == "MG" + "0" * 32
            assert "From" not in twilio.sent[0].fields
        finally:
            await channel.close()
        wrong = SmsChannel(
            account_sid=ACCOUNT, auth_token="wrong", from_number=SENDER, api_base=twilio.url
        )
        await wrong.start()
        try:
            with pytest.raises(PermanentSendError) as refused:
                await wrong.send(OutboundMessage(channel="sms", address=PHONE, text="Hi"))
            assert (refused.value.code, refused.value.suppress) == ("20003", False)
        finally:
            await wrong.close()


# Segments: what an SMS costs. The built-in texts are checked in every shipped locale.

SCALES = [(1, 3), (1, 5), (1, 7), (1, 10), (0, 10)]
# ui.* is the web chat's, telegram.* the Telegram bot's: SMS never sends them.
SMS_KEYS = [key for key in CATALOG["en"] if not key.startswith(("ui.", "telegram."))]
# Question + hint, per locale: one segment where the alphabet allows it. es, fr and pt need
# letters GSM-7 lacks (á, ç, ê, …), so they go out as UCS-2 (70 per segment): two segments.
QUESTION_SEGMENTS = {"en": 1, "de": 1, "fi": 1, "zh": 1, "zh-Hant": 1, "es": 2, "fr": 2, "pt": 2}


def test_segment_counts_follow_gsm_7_and_ucs_2() -> None:
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10
    assert [segments("a" * n) for n in (0, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert [segments("€" * n) for n in (80, 81, 152, 153)] == [1, 2, 2, 3]  # 2 septets each
    assert [segments("中" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert segments("a" * 69 + "😀") == 2  # an emoji is two UTF-16 units, and makes it UCS-2
    # One curly quote turns a 71-character text from one GSM-7 segment into two UCS-2 ones.
    assert (segments("It's great" + "a" * 61), segments("It’s great" + "a" * 61)) == (1, 2)
    assert (encoding("Ça va? Olé! Øre"), encoding("ça va")) == ("GSM-7", "UCS-2")


def test_every_builtin_sms_text_fits_its_segment_budget() -> None:
    assert sorted(QUESTION_SEGMENTS) == sorted(LOCALES)
    too_long: list[str] = []
    for locale in LOCALES:
        for metric in ("csat", "nps", "ces"):
            for low, high in SCALES:
                hint = render(builtin("hint.scale", locale), {"low": low, "high": high})
                text = f"{builtin(f'question.{metric}', locale)}\n{hint}"
                if segments(text) > QUESTION_SEGMENTS[locale]:
                    too_long.append(f"{locale} {metric} {low}-{high}: {segments(text)}")
        values = {"low": 0, "high": 10, "low_label": "not likely", "high_label": "very likely"}
        for key in SMS_KEYS:
            count = segments(render(builtin(key, locale), values))
            if count > 2:
                too_long.append(f"{locale} {key}: {count}")
    assert not too_long, "built-in SMS texts over budget:\n" + "\n".join(too_long)
    english = [builtin(key, "en") for key in SMS_KEYS]
    assert all(encoding(text) == "GSM-7" for text in english)  # no curly quotes, no emoji
