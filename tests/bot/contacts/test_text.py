"""Text surveybot can store: the check, the stripping, and where in a body the first bad string is."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from bot.contacts.text import CustomerText, Text, storable, strip_unstorable, unstorable_at


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "\udfff", "\x00"])
def test_nul_and_lone_surrogates_are_refused_or_stripped(bad: str) -> None:
    with pytest.raises(ValueError, match="NUL characters or unpaired surrogates"):
        storable(bad)
    assert "\x00" not in strip_unstorable(bad) and strip_unstorable(bad).isprintable()


def test_ordinary_text_passes_unchanged() -> None:
    text = "Kiitos 👍 — 很好, ok\n\t"
    assert storable(text) is text and strip_unstorable(text) is text


def test_the_pydantic_types_refuse_or_clean() -> None:
    class Body(BaseModel):
        name: Text
        said: CustomerText

    assert Body(name="Ana", said="5\x00 great\ud83d").said == "5 great"
    with pytest.raises(ValidationError) as caught:
        Body(name="A\x00na", said="5")
    [error] = caught.value.errors()
    assert (error["loc"], error["type"]) == (("name",), "string_unstorable")


def test_the_first_bad_string_is_found_by_its_place() -> None:
    body = {"key": "s", "question": {"en": "Hi", "fi": "Moi\x00"}, "reasons": ["a", "b"]}
    assert unstorable_at(body, ("body",)) == ("body", "question", "fi")
    assert unstorable_at({"reasons": ["a", "\ud800"]}) == ("reasons", 1)
    assert unstorable_at({"k\x00": 1}) == ("k\x00",)
    assert unstorable_at({"fine": [1, 2.5, None, True, "ok"]}) is None
