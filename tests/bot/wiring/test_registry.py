"""The channels' default quiet hours from the registry, as a survey's send window applies them."""

from __future__ import annotations

from bot.wiring import registry
from surveys.definitions import Survey
from surveys.quiet_hours import Window

DAY = Window.parse("09:00", "20:00")


def test_survey_windows_default_to_sms_and_telegram_daytime() -> None:
    survey = Survey.model_validate({"key": "s", "metric": "csat"})
    defaults = {info.name: info.quiet_hours for info in registry.infos()}

    def window(survey: Survey, channel: str) -> Window | None:
        return survey.send_window(channel, defaults[channel])

    assert window(survey, "sms") == DAY and window(survey, "telegram") == DAY
    assert window(survey, "email") is None and window(survey, "web") is None
    custom = Survey.model_validate(
        {"key": "s", "metric": "csat", "quiet_hours": {"email": ["08:00", "18:00"]}}
    )
    assert window(custom, "email") == Window.parse("08:00", "18:00")
    assert window(custom, "sms") is None  # given windows replace the defaults
    assert (
        window(Survey.model_validate({"key": "s", "metric": "csat", "quiet_hours": {}}), "sms")
        is None
    )
