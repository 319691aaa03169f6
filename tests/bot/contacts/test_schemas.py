"""ContactIn: bounded properties and fields, and national phone numbers read in a set region."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.contacts.schemas import (
    MAX_PROPERTIES,
    ContactIn,
    normalize_phone,
    phone_region,
)


def refusal(**fields: Any) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        ContactIn.model_validate({"external_id": "c1", **fields})
    error = caught.value.errors()[0]
    return error["loc"], error["msg"]


def test_properties_are_bounded_in_count_key_and_value() -> None:
    many = {f"p{i}": i for i in range(MAX_PROPERTIES + 1)}
    assert refusal(properties=many) == (
        ("properties",),
        "Dictionary should have at most 50 items after validation, not 51",
    )
    assert refusal(properties={"k" * 65: 1})[1] == "String should have at most 64 characters"
    assert refusal(properties={"note": "x" * 1001}) == (
        ("properties",),
        "property 'note' is longer than 1000 characters",
    )
    assert refusal(properties={"seats": 2**64})[1] == (
        "property 'seats' is out of range: a whole number must fit in 64 bits"
    )
    assert (
        refusal(properties={"ratio": float("inf")})[1] == "property 'ratio' is not a finite number"
    )
    assert refusal(properties={"plan": "pro\x00"})[1] == (
        "property 'plan' must not contain NUL characters or unpaired surrogates"
    )
    fine = {f"p{i}": "x" * 1000 for i in range(MAX_PROPERTIES)} | {"p0": True, "p1": 2**63 - 1}
    assert ContactIn(external_id="c1", properties=fine).properties == fine


def test_fields_are_bounded_and_storable() -> None:
    assert refusal(external_id="x" * 256)[1] == "String should have at most 255 characters"
    assert refusal(name="x" * 256) == (("name",), "String should have at most 255 characters")
    assert refusal(name="Ana\x00")[0] == ("name",)
    assert refusal(telegram_chat_id="1" * 33)[1] == "Value error, longer than 32 characters"
    assert refusal(telegram_chat_id="１２３")[1] == (
        "Value error, must be a Telegram chat id (an integer)"
    )
    assert ContactIn(external_id="c1", telegram_chat_id=-1001234567890).telegram_chat_id == (
        "-1001234567890"
    )


def test_without_a_region_a_phone_number_must_be_international() -> None:
    assert normalize_phone("+1 (415) 555-0123") == "+14155550123"
    with pytest.raises(ValueError, match="use the international format"):
        normalize_phone("(415) 555-0123")
    assert refusal(phone="(415) 555-0123")[0] == ("phone",)


def test_a_region_reads_national_numbers_and_still_takes_international_ones() -> None:
    assert normalize_phone("(415) 555-0123", "US") == "+14155550123"
    with phone_region("US"):
        assert ContactIn(external_id="c1", phone="(415) 555-0123").phone == "+14155550123"
        assert ContactIn(external_id="c1", phone="+44 20 7946 0958").phone == "+442079460958"
        with pytest.raises(ValidationError, match="or a national number of US"):
            ContactIn(external_id="c1", phone="call me")
    with phone_region("FI"):
        assert ContactIn(external_id="c1", phone="040 123 4567").phone == "+358401234567"
    # Outside the block the E.164 rule is back.
    assert refusal(phone="040 123 4567")[0] == ("phone",)
