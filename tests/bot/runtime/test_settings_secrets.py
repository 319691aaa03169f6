"""Webhook secrets of every kind: at least 16 characters, refused with a sentence naming the rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.runtime.settings import Settings

LONG = "0123456789abcdef"  # exactly 16


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"zendesk_webhook_secret": "short", "helpdesk_survey": "csat"}, "zendesk_webhook_secret"),
        (
            {"zendesk_webhook_secret": LONG[:-1], "helpdesk_survey": "csat"},
            "zendesk_webhook_secret",
        ),
        (
            {"telegram_webhook_secret": "s3cret", "telegram_bot_token": "1:x"},
            "telegram_webhook_secret",
        ),
        (
            {"telegram_webhook_secret": "é" * 16, "telegram_bot_token": "1:x"},
            "telegram_webhook_secret",
        ),
        ({"webhook_secrets": {"crm": "short"}}, "webhook_secrets"),
    ],
)
def test_short_webhook_secrets_are_refused(values: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert "16" in error["msg"]


def test_secrets_of_16_characters_are_taken_and_blank_ones_mean_unset() -> None:
    taken = settings(
        zendesk_webhook_secret=LONG,
        helpdesk_survey="csat",
        telegram_webhook_secret=LONG,
        telegram_bot_token="1:x",
        webhook_secrets={"crm": LONG},
    )
    assert taken.zendesk_webhook_secret is not None
    assert taken.telegram_webhook_secret is not None
    blank = settings(zendesk_webhook_secret="  ", telegram_webhook_secret="")
    assert blank.zendesk_webhook_secret is None and blank.telegram_webhook_secret is None
