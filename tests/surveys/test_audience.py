"""Audience filters: the grammar, comparison semantics, missing properties and error positions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from surveys.audience import MAX_DEPTH, MAX_LENGTH, Audience, AudienceError, parse_audience

ACME = {
    "plan": "Pro",
    "region": "EU",
    "seats": "12",
    "country": "FI",
    "signup": "2026-01-15",
    "email": "ops@acme.example",
    "name": "Acme, Inc.",
    "tags": ["enterprise", "VIP"],
    "trial": False,
    "mrr": 1499.5,
}
SMALL_SHOP = {
    "plan": "free",
    "region": "US",
    "seats": 2,
    "country": "us",
    "signup": "2026-07-02",
    "email": "",
    "name": "Corner Shop",
    "tags": [],
    "trial": True,
    "mrr": None,
}


@pytest.mark.parametrize(
    ("source", "acme", "small_shop"),
    [
        ("plan = pro AND region IN (EU, US)", True, False),
        ("plan = pro and region in (eu, us)", True, False),
        ("NOT (plan = free) OR seats >= 10", True, False),
        ("not plan = free or seats >= 10", True, False),
        ("signup < 2026-06-01", True, False),
        ("signup >= 2026-06-01", False, True),
        ('name = "Acme, Inc."', True, False),
        ("name = 'acme, inc.'", True, False),
        ("name = 'Corner Shop'", False, True),
        ("email = ops@acme.example", True, False),
        ("plan != free", True, False),
        ("plan <> free", True, False),
        ("region NOT IN (EU, APAC)", False, True),
        ("email IS SET", True, False),
        ("email IS NOT SET", False, True),
        ("mrr is set", True, False),
        ("tags = vip", True, False),
        ("tags IN (smb, enterprise)", True, False),
        ("tags IS NOT SET", False, True),
        ("trial = true", False, True),
        ("trial = FALSE", True, False),
        ("mrr > 1000", True, False),
        ("mrr = 1499.50", True, False),
        ("seats < 3", False, True),
        ("seats <= 2", False, True),
        ("seats > 2", True, False),
        ("country = fi OR country = US", True, True),
        ("plan = pro AND (country = se OR country = fi)", True, False),
        ("(plan = free OR seats > 100) AND region = US", False, True),
        ("plan = pro OR plan = free AND region = EU", True, False),  # AND binds tighter
        ("(plan = pro OR plan = free) AND region = EU", True, False),
        ("(plan = pro OR plan = free) AND region = US", False, True),
        ("NOT NOT plan = pro", True, False),
        ("NOT (plan = pro AND region = EU)", False, True),
        ("  plan=pro  AND\tregion=EU\n", True, False),
        ("seats>=10", True, False),
    ],
)
def test_filters_on_two_contacts(source: str, acme: bool, small_shop: bool) -> None:
    audience = parse_audience(source)
    assert (audience.matches(ACME), audience.matches(SMALL_SHOP)) == (acme, small_shop)


@pytest.mark.parametrize(
    ("source", "value", "expected"),
    [
        ("seats = 10", "10", True),
        ("seats = 10", 10.0, True),
        ("seats = 10.0", 10, True),
        ("seats = 10", " 10 ", True),
        ("seats = 1e1", "10", True),
        ("seats = 10", "010", True),  # both numbers, so 010 is ten
        ("seats = 10", "ten", False),
        ("seats != 10", "10.00", False),
        ("seats IN (5, 10)", "10.0", True),
        ("seats IN (5, ten)", "Ten", True),
        ("seats > 9", "10", True),  # as numbers; as strings "10" < "9"
        ("seats < 9", "10", False),
        ("seats > -1", 0, True),
        ("seats >= 2.5", Decimal("2.5"), True),
        ("seats < 100", "abc", False),  # "abc" > "100" as strings
        ("code = 007", "7", True),
        ('code = "007"', "7", True),  # quoting only marks where a value ends
        ("version > 3.5", "3.10", False),  # numbers, not version strings
        ("signup < 2026-06-01", "2026-05-31", True),
        ("signup < 2026-06-01", "2026-06-01", False),
        ("signup <= 2026-06-01", "2026-06-01", True),
        ("signup < 2026-06-01", date(2026, 5, 1), True),
        ("signup > 2026-06-01", datetime(2026, 6, 1, 12, tzinfo=UTC), True),
        ("signup = 2026-06-01", date(2026, 6, 1), True),
        ("signup < 2026", "2025-12-31", True),  # mixed: compared as strings
        ("plan = PRO", "pro", True),
        ("plan = pro", "  Pro\n", True),
        ("plan = pro", "professional", False),
        ("plan > b", "c", True),
        ("plan > b", "A", False),  # case-insensitive ordering too
        ("active = true", True, True),
        ("active = 1", True, False),  # bools are "true"/"false", not numbers
        ("active != false", False, False),
        ("city = 'Sault Ste. Marie'", "sault ste. marie", True),
        ('note = "say \\"hi\\""', 'say "hi"', True),
        ("note = 'it\\'s'", "it's", True),
        ("phone = +358401234567", "+358401234567", True),
        ("path = /billing/v2", "/billing/v2", True),
        ("x = 'and'", "AND", True),
        ("nums IN (1, 2)", [3, 2.0], True),
        ("nums > 5", [1, 7], True),
        ("nums > 5", [1, 2], False),
        ("nums != 2", [1, 2], False),
        ("nums NOT IN (2)", [1, 3], True),
        ("tags = vip", ("a", "vip"), True),
        ("tags = vip", {"a", "b"}, False),
    ],
)
def test_comparison_semantics(source: str, value: Any, expected: bool) -> None:
    audience = parse_audience(source)
    (name,) = audience.names()
    assert audience.matches({name: value}) is expected


@pytest.mark.parametrize("missing", [None, "", "   ", [], [None, ""], "absent"])
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plan = pro", False),
        ("plan != pro", True),
        ("plan <> pro", True),
        ("plan IN (pro, free)", False),
        ("plan NOT IN (pro, free)", True),
        ("plan < m", False),
        ("plan <= m", False),
        ("plan > m", False),
        ("plan >= m", False),
        ("plan IS SET", False),
        ("plan IS NOT SET", True),
        ("NOT plan = pro", True),
    ],
)
def test_missing_properties(source: str, expected: bool, missing: Any) -> None:
    properties = {} if missing == "absent" else {"plan": missing}
    assert parse_audience(source).matches(properties) is expected


@pytest.mark.parametrize("source", [None, "", "   ", "all", "ALL", " * ", "*"])
def test_everyone(source: str | None) -> None:
    audience = parse_audience(source)
    assert audience.everyone
    assert audience.names() == frozenset()
    assert audience.matches({}) and audience.matches(SMALL_SHOP)


def test_a_filter_is_not_everyone_and_names_its_properties() -> None:
    audience = parse_audience("plan = pro AND (region IN (EU) OR NOT seats > 5) AND vip IS SET")
    assert not audience.everyone
    assert audience.names() == {"plan", "region", "seats", "vip"}


@pytest.mark.parametrize(
    "name", ["plan", "_internal", "company.size", "utm-source", "A1", "custom.fields.tier_2"]
)
def test_property_names(name: str) -> None:
    audience = parse_audience(f"{name} = x")
    assert audience.names() == {name}
    assert audience.matches({name: "X"})
    assert not audience.matches({name.upper() + "_other": "x"})


def test_names_are_case_sensitive() -> None:
    assert not parse_audience("Plan = pro").matches({"plan": "pro"})


def test_audience_is_a_frozen_value_parsed_on_construction() -> None:
    assert Audience("plan = pro") == parse_audience("plan = pro")
    assert hash(Audience("plan = pro")) == hash(parse_audience("plan = pro"))
    assert Audience("plan = pro").matches({"plan": "PRO"})
    with pytest.raises(AudienceError):
        Audience("plan =")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("plan =", "expected a value after '=' at position 7"),
        ("plan = AND region = EU", "expected a value after '=' at position 8, found 'AND'"),
        ("plan = )", "expected a value after '=' at position 8, found ')'"),
        ("plan == pro", "unknown operator '==' at position 6"),
        ("plan =< pro", "unknown operator '=<' at position 6"),
        ("plan ! pro", "unknown operator '!' at position 6"),
        ("plan LIKE 'pro%'", "unknown operator 'LIKE' at position 6"),
        ("plan", "expected an operator after 'plan' at position 5"),
        ("plan (pro)", "expected an operator after 'plan' at position 6, found '('"),
        ("(plan = pro", "unbalanced parentheses: '(' at position 1 is never closed"),
        ("((a = 1) OR b = 2", "unbalanced parentheses: '(' at position 1 is never closed"),
        ("a IN (1, 2", "unbalanced parentheses: '(' at position 6 is never closed"),
        ("plan = pro)", "unbalanced parentheses: ')' at position 11 has no matching '('"),
        ("(a = 1 b = 2)", "expected AND, OR or ')' after '1' at position 8, found 'b'"),
        ("plan = pro region = EU", "expected AND, OR or the end of the filter after 'pro' at"),
        ("plan = pro AND", "expected a property name after 'AND' at position 15"),
        ("AND plan = pro", "expected a property name at position 1, found 'AND'"),
        ("()", "expected a property name after '(' at position 2, found ')'"),
        ("region IN ()", "empty IN list at position 11"),
        ("region IN EU", "expected '(' and a list of values after 'IN' at position 11"),
        ("region IN (EU,)", "expected a value after ',' at position 15, found ')'"),
        ("region IN (EU US)", "expected ',' or ')' after 'EU' at position 15, found 'US'"),
        ("region NOT EU", "expected IN after 'NOT' at position 12, found 'EU'"),
        ("email IS", "expected SET after 'IS' at position 9"),
        ("email IS NOT", "expected SET after 'NOT' at position 13"),
        ('name = "Acme', "unterminated string starting at position 8"),
        ("name = 'Acme\\'", "unterminated string starting at position 8"),
        ("plan = pro; DROP", "unexpected character ';' at position 11"),
        ("plan ~ pro", "unexpected character '~' at position 6"),
        ("2026 = x", "'2026' at position 1 is not a property name"),
        ("@home = x", "'@home' at position 1 is not a property name"),
        ("in = x", "expected a property name at position 1, found 'in'"),
        ("plan = ''", "empty value at position 8; use IS NOT SET"),
    ],
)
def test_errors_name_the_problem_and_position(source: str, message: str) -> None:
    with pytest.raises(AudienceError) as caught:
        parse_audience(source)
    assert str(caught.value).startswith(message)


def test_audience_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="position"):
        parse_audience("plan = ")


def test_length_limit() -> None:
    long_enough = "plan = " + "p" * (MAX_LENGTH - len("plan = p OR plan = pro")) + "p OR plan = pro"
    assert len(long_enough) == MAX_LENGTH
    assert parse_audience(long_enough).matches({"plan": "pro"})
    with pytest.raises(AudienceError, match=f"longer than {MAX_LENGTH} characters at position"):
        parse_audience(long_enough + " ")


def test_nesting_limit() -> None:
    deepest = "(" * MAX_DEPTH + "plan = pro" + ")" * MAX_DEPTH
    assert parse_audience(deepest).matches({"plan": "pro"})
    with pytest.raises(AudienceError, match=f"nested more than {MAX_DEPTH} deep at position 21"):
        parse_audience("(" + deepest + ")")
    with pytest.raises(AudienceError, match="nested more than"):
        parse_audience("NOT " * (MAX_DEPTH + 1) + "plan = pro")


def test_long_flat_chains_do_not_count_as_nesting() -> None:
    audience = parse_audience(" OR ".join(f"code = c{n}" for n in range(120)))
    assert audience.matches({"code": "C119"})
    assert not audience.matches({"code": "c120"})


def test_many_contacts() -> None:
    audience = parse_audience("plan = pro AND region IN (EU, US) AND NOT seats < 5")
    contacts = [
        {"plan": ("pro", "free", "team")[n % 3], "region": ("EU", "US", "APAC")[n % 5 % 3]}
        | {"seats": str(n % 20)}
        for n in range(20_000)
    ]
    matched = sum(audience.matches(contact) for contact in contacts)
    expected = sum(n % 3 == 0 and n % 5 % 3 in (0, 1) and n % 20 >= 5 for n in range(20_000))
    assert matched == expected > 0
