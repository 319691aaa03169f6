"""Survey definitions: defaults per metric and scale, bands, validation that names the problem."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from surveys.definitions import Survey, SurveyFile, scale_change


@pytest.mark.parametrize(
    ("metric", "scale", "expected_scale", "positive_from"),
    [
        ("csat", None, (1, 5), 4),
        ("nps", None, (0, 10), 9),
        ("ces", None, (1, 7), 5),
        ("csat", (1, 7), (1, 7), 5),
        ("csat", (1, 3), (1, 3), 3),
        ("ces", (1, 5), (1, 5), 4),
    ],
)
def test_defaults(
    metric: str, scale: tuple[int, int] | None, expected_scale: tuple[int, int], positive_from: int
) -> None:
    survey = Survey(key="s", metric=metric, scale=scale)  # type: ignore[arg-type]
    assert (survey.scale, survey.positive_from) == (expected_scale, positive_from)


def test_other_scales_need_explicit_positive_from() -> None:
    with pytest.raises(ValidationError, match="positive_from: required"):
        Survey(key="s", metric="csat", scale=(1, 10))  # type: ignore[arg-type]
    survey = Survey(key="s", metric="csat", scale=(1, 10), positive_from=8)  # type: ignore[arg-type]
    assert survey.is_positive(8) and not survey.is_positive(7)


@pytest.mark.parametrize("scale", [(2, 5), (1, 4), (0, 5)])
def test_unsupported_scales_are_refused(scale: tuple[int, int]) -> None:
    with pytest.raises(ValidationError, match="not supported"):
        Survey(key="s", metric="csat", scale=scale, positive_from=3)  # type: ignore[arg-type]


def test_nps_is_always_zero_to_ten() -> None:
    with pytest.raises(ValidationError, match="NPS"):
        Survey(key="s", metric="nps", scale=(1, 10), positive_from=9)  # type: ignore[arg-type]


def test_bands() -> None:
    nps = Survey(key="n", metric="nps")  # type: ignore[arg-type]
    assert [nps.band(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
    csat = Survey(key="c", metric="csat")  # type: ignore[arg-type]
    assert [csat.band(s) for s in range(1, 6)] == [
        "negative",
        "negative",
        "neutral",
        "positive",
        "positive",
    ]
    ces = Survey(key="e", metric="ces")  # type: ignore[arg-type]
    assert [ces.band(s) for s in range(1, 8)] == ["negative"] * 3 + ["neutral"] + ["positive"] * 3


def test_band_texts_and_reasons() -> None:
    survey = Survey.model_validate(
        {
            "key": "n",
            "metric": "nps",
            "follow_up": {
                "detractor": "Sorry! What went wrong?",
                "promoter": {"en": "Yay", "fi": "Jee"},
            },
            "reasons": ["Price", "Support"],
        }
    )
    assert survey.band_text(survey.follow_up, "detractor") == "Sorry! What went wrong?"
    assert survey.band_text(survey.follow_up, "passive") is None
    assert survey.asks_reason(3) and not survey.asks_reason(8)
    with pytest.raises(ValidationError, match="do not apply"):
        Survey.model_validate({"key": "c", "metric": "csat", "follow_up": {"promoter": "x"}})


def test_yaml_shape_of_the_issue() -> None:
    data = {
        "surveys": [
            {
                "key": "support-csat",
                "metric": "csat",
                "scale": [1, 5],
                "question": "How satisfied are you?",
            },
            {
                "key": "relationship-nps",
                "metric": "nps",
                "question": {"en": "Recommend?", "zh": "推荐吗？"},
            },
        ]
    }
    parsed = SurveyFile.model_validate(data).surveys
    assert [s.key for s in parsed] == ["support-csat", "relationship-nps"]


@pytest.mark.parametrize(
    "bad",
    [
        {"key": "", "metric": "csat"},
        {"key": "has space", "metric": "csat"},
        {"key": "k", "metric": "csat", "question": "  "},
        {"key": "k", "metric": "csat", "question": {}},
        {"key": "k", "metric": "csat", "throttle_days": -1},
        {"key": "k", "metric": "csat", "unknown": 1},
    ],
)
def test_invalid_definitions(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Survey.model_validate(bad)


def test_scale_change_names_the_field_that_moves_the_scale() -> None:
    csat = Survey(key="s", metric="csat")  # type: ignore[arg-type]
    assert scale_change(csat, csat.model_copy(update={"throttle_days": 7})) is None
    assert scale_change(csat, Survey(key="s", metric="csat", positive_from=5)) is None  # type: ignore[arg-type]
    assert scale_change(csat, Survey(key="s", metric="csat", scale=(1, 3))) == "scale"  # type: ignore[arg-type]
    assert scale_change(csat, Survey(key="s", metric="nps")) == "metric"  # type: ignore[arg-type]
    assert scale_change(csat, Survey(key="s", metric="ces")) == "metric"  # type: ignore[arg-type] # 1-7
    assert scale_change(csat, Survey(key="s", metric="ces", scale=(1, 5))) is None  # type: ignore[arg-type]


def test_validation_errors_name_their_field_first() -> None:
    for fields, start in (
        ({"scale": (1, 4), "positive_from": 3}, "scale: "),
        ({"scale": (1, 10)}, "positive_from: "),
        ({"positive_from": 9}, "positive_from: "),
        ({"quiet_hours": {"sms": ["9", "20:00"]}}, "the sms window"),
    ):
        with pytest.raises(ValidationError) as caught:
            Survey.model_validate({"key": "s", "metric": "csat", **fields})
        message = caught.value.errors()[0]["msg"].removeprefix("Value error, ")
        assert message.startswith(start), message


def test_themes_are_optional_and_take_a_list_or_lists_per_locale() -> None:
    assert Survey.model_validate({"key": "s", "metric": "nps"}).themes == {}
    themes = {
        "speed": {"en": ["slow", "waited"], "fi": ["hidas", "odottaa"], "zh-Hant": ["慢"]},
        "rudeness": ["rude", "impolite"],
        "ease_of_use": {"pt-BR": ["fácil de usar"]},
    }
    survey = Survey.model_validate({"key": "s", "metric": "nps", "themes": themes})
    assert list(survey.themes) == ["speed", "rudeness", "ease_of_use"]
    assert survey.themes["rudeness"] == ["rude", "impolite"]


@pytest.mark.parametrize(
    ("themes", "message"),
    [
        ({"Speed Issues": ["slow"]}, "'Speed Issues' is not a theme name: use lower-case letters"),
        ({"_speed": ["slow"]}, "'_speed' is not a theme name"),
        ({"speed": []}, "speed: give 1 to 50 terms, not 0"),
        ({"speed": {}}, "speed: give a list of terms, or at least one locale with its list"),
        ({"speed": {"fi": []}}, "speed: fi: give 1 to 50 terms, not 0"),
        ({"speed": {"en": [f"w{n}" for n in range(51)]}}, "speed: en: give 1 to 50 terms, not 51"),
        ({"speed": ["slow", "  "]}, "speed: a term is blank"),
        ({"speed": {"en": ["x" * 201]}}, "speed: en: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… is longer"),
        ({"speed": {"english please": ["slow"]}}, "speed: 'english please' is not a locale"),
        ({f"t{n}": ["x"] for n in range(31)}, "at most 30 themes, not 31"),
    ],
)
def test_bad_themes_are_refused_in_words_that_name_the_theme(
    themes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Survey.model_validate({"key": "s", "metric": "csat", "themes": themes})
    error = caught.value.errors()[0]
    assert error["loc"] == ("themes",)
    assert error["msg"].removeprefix("Value error, ").startswith(message), error["msg"]


def test_themes_at_the_limits_are_accepted() -> None:
    themes = {f"t{n}": {"en": ["x" * 200] * 50} for n in range(30)}
    assert len(Survey.model_validate({"key": "s", "metric": "ces", "themes": themes}).themes) == 30


def test_themes_of_the_wrong_shape_are_refused() -> None:
    for themes in (["slow"], {"speed": "slow"}, {"speed": {"en": "slow"}}, {"speed": [1]}):
        with pytest.raises(ValidationError):
            Survey.model_validate({"key": "s", "metric": "csat", "themes": themes})


def test_reminders_take_a_count_or_a_mapping_and_keep_the_shape_they_were_given() -> None:
    plain = Survey.model_validate({"key": "s", "metric": "csat", "reminders": 2})
    assert (plain.reminders.count, plain.reminders.channel) == (2, "same")
    assert plain.model_dump(mode="json", exclude_defaults=True)["reminders"] == 2
    assert "reminders" not in Survey(key="s", metric="csat").model_dump(exclude_defaults=True)
    moving = Survey.model_validate({"key": "s", "metric": "csat", "reminders": {"channel": "next"}})
    assert (moving.reminders.count, moving.reminders.channel) == (1, "next")
    dumped = moving.model_dump(mode="json", exclude_defaults=True)
    assert dumped["reminders"] == {"count": 1, "channel": "next"}
    assert Survey.model_validate(dumped) == moving
    with pytest.raises(ValidationError, match="less than or equal to 5"):
        Survey.model_validate({"key": "s", "metric": "csat", "reminders": 6})
    with pytest.raises(ValidationError, match="'same' or 'next'"):
        Survey.model_validate({"key": "s", "metric": "csat", "reminders": {"channel": "sms"}})


def test_a_fallback_order_names_each_channel_once() -> None:
    survey = Survey.model_validate({"key": "s", "metric": "csat", "channels": ["sms", "email"]})
    assert survey.channels == ["sms", "email"]
    with pytest.raises(ValidationError, match="sms is listed twice"):
        Survey.model_validate({"key": "s", "metric": "csat", "channels": ["sms", "email", "sms"]})
    with pytest.raises(ValidationError, match="at least 1 item"):
        Survey.model_validate({"key": "s", "metric": "csat", "channels": []})
    with pytest.raises(ValidationError, match="should match pattern"):
        Survey.model_validate({"key": "s", "metric": "csat", "channels": ["SMS!"]})
