"""A survey's WhatsApp templates: Content SIDs, numbered variables, locales, placeholders."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from surveys.definitions import Survey
from surveys.placeholders import unfilled

SID = "HX" + "0123456789abcdef" * 2


def survey(templates: object) -> Survey:
    return Survey.model_validate(
        {"key": "s", "metric": "csat", "whatsapp": {"templates": templates}}
    )


@pytest.mark.parametrize(
    ("templates", "problem"),
    [
        ({"en": {"content_sid": "HX123"}}, "is not a Content SID"),
        ({"en": {"content_sid": "MG" + SID[2:]}}, "is not a Content SID"),
        ({"en": {"content_sid": SID, "variables": {"a": "x"}}}, "is not a template variable"),
        ({"en": {"content_sid": SID, "variables": {"1": " "}}}, "refuses an empty value"),
        ({"en": {"content_sid": SID, "variables": {"2": "x"}}}, "without gaps"),
        ({"english!": {"content_sid": SID}}, "is not a locale"),
        ({"en": {"content_sid": SID, "body": "x"}}, "Extra inputs are not permitted"),
    ],
)
def test_bad_templates_are_refused_with_a_sentence(templates: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        survey(templates)


def test_the_readers_locale_then_the_default_one_and_no_other_language() -> None:
    fi, en = SID, "HX" + "f" * 32
    options = survey({"fi": {"content_sid": fi}, "en-US": {"content_sid": en}}).whatsapp
    assert options is not None
    assert options.template_for("fi-FI", "en").content_sid == fi  # type: ignore[union-attr]
    assert options.template_for("de", "en").content_sid == en  # type: ignore[union-attr]
    only_fi = survey({"fi": {"content_sid": fi}}).whatsapp
    assert only_fi is not None and only_fi.template_for("de", "de") is None


def test_template_variables_are_placeholders_the_trigger_must_fill() -> None:
    defined = survey({"en": {"content_sid": SID, "variables": {"1": "{first_name}"}}})
    assert "first_name" in defined.uses
    assert unfilled(defined) == ("first_name",)
    assert unfilled(defined, trigger={"first_name": "Zoë"}) == ()
