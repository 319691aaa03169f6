"""The shared filters: read from a query string or CLI options, refused by name, written back."""

from __future__ import annotations

import pytest

from bot.errors import Unprocessable
from bot.insight.filters import band_range, from_options, parse
from surveys.definitions import Survey


def test_values_repeat_or_split_on_commas_and_properties_are_named() -> None:
    filters = parse(
        {
            "channel": ["sms,email", "sms"],
            "reason": ["Slow, really"],
            "property.plan": ["pro"],
            "property.agent": ["Ana", "Ben"],
            "q": [" late "],
        }
    )
    assert filters.channels == ("sms", "email")
    assert filters.reasons == ("Slow, really",)  # reasons may contain commas
    assert filters.properties == (("agent", ("Ana", "Ben")), ("plan", ("pro",)))
    assert filters.text == "late"
    again = parse({k: v for k, v in filters.query().items()})
    assert again == filters
    assert "property.agent=Ana&property.agent=Ben" in filters.query_string()
    assert (
        filters.describe()
        == "channel sms or email, reason Slow, really, agent = Ana or Ben, plan = pro, comments containing 'late'"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"chanel": ["sms"]}, "chanel"),
        ({"property.bad name": ["x"]}, "property.bad name"),
        ({"band": ["happy"]}, "band"),
        ({"q": ["a", "b"]}, "q"),
        ({"channel": [",".join(f"c{i}" for i in range(51))]}, "channel"),
        ({"channel": ["x" * 256]}, "channel"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, list[str]], field: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        parse(params)
    assert refused.value.field == field


def test_cli_properties_are_name_equals_value() -> None:
    filters = from_options(since=None, until=None, properties=["plan=pro", "plan=team", "tier=a=b"])
    assert filters.properties == (("plan", ("pro", "team")), ("tier", ("a=b",)))
    with pytest.raises(Unprocessable) as refused:
        from_options(since=None, until=None, properties=["plan"])
    assert refused.value.field == "property" and "NAME=VALUE" in refused.value.message


def test_bands_follow_the_survey_scale() -> None:
    csat = Survey.model_validate({"key": "c", "metric": "csat"})
    nps = Survey.model_validate({"key": "n", "metric": "nps"})
    three = Survey.model_validate({"key": "t", "metric": "csat", "scale": [1, 3]})
    assert band_range(csat, "positive") == (4, 5)
    assert band_range(csat, "neutral") == (3, 3)
    assert band_range(csat, "negative") == (1, 2)
    assert band_range(nps, "detractor") == band_range(nps, "negative") == (0, 6)
    assert band_range(nps, "passive") == (7, 8)
    assert band_range(three, "negative") == (1, 1) and band_range(three, "neutral") == (2, 2)
    with pytest.raises(Unprocessable) as refused:
        band_range(csat, "promoter")
    assert refused.value.field == "band" and "negative, neutral, positive" in refused.value.message
