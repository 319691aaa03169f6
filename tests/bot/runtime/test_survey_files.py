"""Survey files: problems told by survey key and field in plain words; refusals save nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.services import Services
from bot.runtime.survey_files import SurveyFileError, load_surveys, read_survey_file
from bot.startup.bootstrap import build_services
from bot.wiring import registry
from storage.uow import UnitOfWork
from surveys.definitions import Survey
from tests.conftest import FakeClock, make_settings
from tests.support import add_survey, deliver, fire, say

GOOD = "  - {key: ok, metric: csat}\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("surveys:\n  - key: a\n    metric: stars\n", "survey 'a': metric: should be 'csat', 'nps' or 'ces'"),
        (f"surveys:\n{GOOD}  - metric: csat\n", "survey 2 (no key): key: is required"),
        ("surveys:\n  - {key: a, metric: csat, question: 5}\n",
         "survey 'a': question: should be a text, or a mapping of locale to text (en: ..., fi: ...)"),
        ("surveys:\n  - {key: a, metric: csat, questoin: Hi}\n",
         "survey 'a': questoin: is not a survey field (did you mean 'question'?)"),
        ("surveys:\n  - {key: a, metric: csat, scale: [1, 4]}\n",
         "survey 'a': scale: 1-4 is not supported; use one of 1-3, 1-5, 1-7, 1-10, 0-10"),
        ("surveys:\n  - {key: a, metric: csat, scale: [1, x]}\n",
         "survey 'a': scale item 2: should be a whole number"),
        ("surveys:\n  - {key: a, metric: csat, reasons: [Slow, [x]]}\n",
         "survey 'a': reasons item 2: should be a text, or a mapping of locale to text"),
        ("surveys:\n  - {key: a, metric: csat, labels: {low: Bad}}\n",
         "survey 'a': labels.high: is required"),
        ("surveys:\n  - {key: a, metric: csat, throttle_days: -1}\n",
         "survey 'a': throttle_days: should be greater than or equal to 0"),
        ("surveys:\n  - {key: a, metric: csat, quiet_hours: {sms: ['9', '20:00']}}\n",
         "survey 'a': quiet_hours: the sms window ['9', '20:00'] is not a send window"),
        ("surveys:\n  - {key: a, metric: csat, placeholders: {a b: x}}\n",
         "survey 'a': placeholders.a b: a placeholder's name is letters, digits and '_'"),
        ("surveys: []\n", "the `surveys:` list is empty"),
        ("", "the file should hold a `surveys:` list of surveys"),
        ("surveys:\n  - 5\n", "survey 1 (no key): should be a mapping of survey fields"),
    ],
)  # fmt: skip
def test_problems_name_the_survey_and_the_field_in_plain_words(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "surveys.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SurveyFileError) as caught:
        read_survey_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {problem}"), message
    for noise in ("surveys.0", "surveys.1", "Value error", "Input should", "dict[", "str]"):
        assert noise not in message, message


async def test_loading_refuses_unknown_channels_and_scale_changes_all_or_none(
    services: Services,
) -> None:
    await add_survey(services)
    answered = await fire(services)
    await deliver(services)
    await say(services, answered.invitation.id, "4")
    names = registry.infos()
    fresh = Survey.model_validate({"key": "fresh", "metric": "nps"})
    cases = [
        ({"quiet_hours": {"pigeon": ["09:00", "17:00"]}},
         "survey 'support-csat': quiet_hours: 'pigeon' is not a channel; use 'telegram', 'sms',"
         " 'whatsapp', 'email' or 'web'"),
        ({"scale": [1, 3]}, "survey 'support-csat': 1 answer was given on the scale 1-5, so the"
         " scale cannot change to 1-3"),
    ]  # fmt: skip
    for change, problem in cases:
        changed = Survey.model_validate({"key": "support-csat", "metric": "csat", **change})
        with pytest.raises(SurveyFileError) as caught:
            await load_surveys(
                services.sessions, [fresh, changed], channels=names, source="surveys.yaml"
            )
        assert str(caught.value).startswith(f"surveys.yaml: {problem}"), str(caught.value)
    async with UnitOfWork(services.sessions) as uow:
        assert [row.key for row in await uow.surveys.list()] == ["support-csat"]


async def test_the_surveys_file_at_start_up_is_checked_the_same(
    database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "surveys.yaml"
    path.write_text(
        "surveys:\n  - {key: a, metric: csat, quiet_hours: {fax: null}}\n", encoding="utf-8"
    )
    with pytest.raises(SurveyFileError, match="survey 'a': quiet_hours: 'fax' is not a"):
        await build_services(make_settings(database_url, surveys_file=path), clock=clock)
