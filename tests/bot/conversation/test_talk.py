"""The wording per channel: no "reply SKIP" beside a Skip button, no "reply START" on a page."""

from __future__ import annotations

import pytest

from bot.conversation.talk import Talk
from bot.wiring import email, sms, telegram, web
from channels.base import ChannelInfo, Choice
from storage.records import ContactRecord, InvitationRecord
from surveys.definitions import Survey
from surveys.keywords import Intent, detect_intent

CSAT = Survey.model_validate({"key": "support-csat", "metric": "csat"})


def talk(
    info: ChannelInfo | None, locale: str = "en", survey: Survey = CSAT, **properties: object
) -> Talk:
    contact = ContactRecord(1, "c-1", None, None, None, None, locale, None, {})
    invitation = InvitationRecord(
        "inv", 1, 1, info.name if info else "sms", None, properties, 0, 0, None, None
    )
    return Talk.of(survey, contact, invitation, "address", info=info)


@pytest.mark.parametrize(
    ("info", "locale", "expected"),
    [
        (sms.INFO, "en", "Great to hear! What did we do well? (or reply SKIP)"),
        (sms.INFO, "fi", "Kiva kuulla! Mitä teimme hyvin? (tai vastaa OHITA)"),
        (None, "en", "Great to hear! What did we do well? (or reply SKIP)"),
        (web.INFO, "en", "Great to hear! What did we do well?"),
        (telegram.INFO, "fi", "Kiva kuulla! Mitä teimme hyvin?"),
        (email.INFO, "en", "Great to hear! What did we do well?"),  # answered on the page
    ],
)
def test_the_follow_up_asks_to_reply_skip_only_without_buttons(
    info: ChannelInfo | None, locale: str, expected: str
) -> None:
    assert talk(info, locale).follow_up("positive").text == expected


def test_an_authored_follow_up_is_left_as_written() -> None:
    survey = CSAT.model_copy(update={"follow_up": "Tell us more, {agent}"})
    worded = talk(sms.INFO, survey=survey, agent="Ana").follow_up("negative")
    assert worded.text == "Tell us more, Ana"


@pytest.mark.parametrize("locale", ["en", "fi", "es", "fr", "de", "pt", "zh", "zh-Hant"])
def test_the_skip_button_sends_the_word_it_shows(locale: str) -> None:
    (choice,) = talk(web.INFO, locale).skip_choices()
    assert choice.label == choice.value
    assert detect_intent(choice.value, locale) is Intent.SKIP
    if locale == "fi":
        assert choice == Choice("Ohita", "Ohita")


@pytest.mark.parametrize(
    ("info", "start"), [(web.INFO, False), (sms.INFO, True), (telegram.INFO, True), (None, True)]
)
def test_reply_start_only_where_one_can_reply_later(info: ChannelInfo | None, start: bool) -> None:
    text = talk(info).plain("opted_out").text
    assert text.startswith("You won't get any more surveys here.")
    assert ("START" in text) is start


def test_the_channels_text_limit_comes_with_its_description() -> None:
    assert talk(sms.INFO).max_text == sms.INFO.max_text
    assert talk(web.INFO).max_text is None
