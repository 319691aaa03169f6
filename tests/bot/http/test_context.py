"""SURVEYBOT_DEFAULT_PHONE_REGION through the API: national numbers read as that region's."""

from __future__ import annotations

import pytest

from bot.runtime.settings import Settings
from tests.conftest import FakeClock, app_client, make_settings

SURVEY = {"key": "support-csat", "metric": "csat"}


async def test_a_region_lets_help_desks_send_national_numbers(
    database_url: str, clock: FakeClock
) -> None:
    national = {"external_id": "c1", "phone": "(415) 555-0123"}
    async with app_client(make_settings(database_url), clock) as (api, _):
        refused = await api.post("/api/v1/contacts", json=national)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "phone"]
        assert "international format" in refused.json()["detail"][0]["msg"]
    settings = make_settings(database_url, default_phone_region="us")
    async with app_client(settings, clock) as (api, _):
        assert (await api.post("/api/v1/surveys", json=SURVEY)).status_code == 201
        contact = await api.post("/api/v1/contacts", json=national)
        assert (contact.status_code, contact.json()["phone"]) == (200, "+14155550123")
        trigger = {
            "survey": "support-csat",
            "channel": "web",
            "contact": {"external_id": "c2", "phone": "415.555.0199"},
        }
        assert (await api.post("/api/v1/triggers", json=trigger)).status_code == 202
        abroad = await api.post(
            "/api/v1/contacts", json={"external_id": "c3", "phone": "+44 20 7946 0958"}
        )
        assert abroad.json()["phone"] == "+442079460958"


@pytest.mark.parametrize("value", ["XX", "USA", "1"])
def test_an_unknown_region_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match="default_phone_region") as caught:
        Settings(_env_file=None, default_phone_region=value)  # type: ignore[call-arg]
    assert "two-letter country code" in str(caught.value)
    assert Settings(_env_file=None, default_phone_region=" ").default_phone_region is None  # type: ignore[call-arg]
