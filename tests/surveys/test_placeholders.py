"""Placeholders: which a survey's texts use, what fills them, and what a trigger leaves unfilled."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from surveys.definitions import Survey
from surveys.placeholders import explain, unfilled, values


def survey(**fields: object) -> Survey:
    return Survey.model_validate({"key": "support-csat", "metric": "csat", **fields})


def test_the_texts_of_every_locale_and_kind_count() -> None:
    found = survey(
        question={"en": "How did {agent} do?", "fi": "Miten {agentti} onnistui?"},
        follow_up={"negative": "Sorry, {name}.", "positive": {"en": "Thanks {first}!"}},
        thank_you="Bye from {team}",
        reasons=["Slow {queue}", {"fi": "Hidas {jono}"}],
        labels={"low": "{low_word}", "high": "Great"},
    )
    assert found.uses == {
        "agent", "agentti", "name", "first", "team", "queue", "jono", "low_word",
    }  # fmt: skip
    # Doubled braces are text, and built-in texts fill their own names.
    assert survey(question="Rate {{this}} from {low} to {high}").uses == {"low", "high"}
    assert survey().uses == frozenset()


def test_the_trigger_over_the_contact_then_name_scale_and_defaults() -> None:
    defined = survey(
        question="{agent} {team} {name} {low}-{high}",
        placeholders={"team": {"en": "our team", "fi": "tiimimme"}, "agent": "someone"},
    )
    filled = values(
        defined,
        contact={"agent": "Ana", "plan": None},
        trigger={"agent": "Bo"},
        name="Aino",
        locale="fi-FI",
    )
    assert filled == {"agent": "Bo", "team": "tiimimme", "name": "Aino", "low": 1, "high": 5}
    # A null property fills nothing: the default shows instead of "None".
    assert values(defined, trigger={"agent": None})["agent"] == "someone"


def test_unfilled_names_what_nothing_fills() -> None:
    defined = survey(question="How did {agent} do on {ticket_id}, {name}?")
    assert unfilled(defined) == ("agent", "name", "ticket_id")
    assert unfilled(defined, contact={"agent": "Ana"}, trigger={"ticket_id": 7}) == ("name",)
    assert unfilled(defined, contact={"agent": "Ana"}, trigger={"ticket_id": 7}, name="Ann") == ()
    assert unfilled(defined, contact={"agent": "Ana"}, trigger={"agent": None}) == (
        "agent",
        "name",
        "ticket_id",
    )
    with_defaults = survey(
        question="How did {agent} do, {name}?", placeholders={"agent": "our team", "name": "there"}
    )
    assert unfilled(with_defaults) == ()


def test_the_refusal_says_what_to_send_or_define() -> None:
    defined = survey(question="{agent} {ticket_id}")
    one = explain(defined, ["agent"])
    assert "{agent}" in one and "send properties.agent" in one
    assert "a default (placeholders: {agent: ...})" in one
    two = explain(defined, ["agent", "ticket_id"])
    assert "{agent} and {ticket_id}" in two and "properties.agent and properties.ticket_id" in two


@pytest.mark.parametrize(
    ("defaults", "words"),
    [({"a b": "x"}, "string_pattern_mismatch"), ({"agent": {}}, "at least one locale")],
)
def test_bad_defaults_are_refused(defaults: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        survey(placeholders=defaults)
