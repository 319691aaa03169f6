"""Which Zendesk ticket an invitation names: the receiver's scoped key, or `zendesk_ticket_id`."""

from __future__ import annotations

import pytest

from bot.errors import Unprocessable
from bot.invitations.helpdesk import zendesk_ticket
from bot.invitations.tickets import check_ticket_property, ticket_number
from bot.invitations.triggers import ZENDESK, api_caller, scoped_key, webhook_caller


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234, "1234"), ("1234", "1234"), (" 77 ", "77"), ("T-1", None), (0, None), (-5, None)],
)
def test_ticket_numbers_are_positive_whole_numbers(value: object, expected: str | None) -> None:
    assert ticket_number(value) == expected


@pytest.mark.parametrize("value", [True, 1.5, "١٢", "9" * 19, ""])
def test_other_values_name_no_ticket(value: object) -> None:
    assert ticket_number(value) is None


def test_only_the_zendesk_receivers_keys_name_a_ticket() -> None:
    assert (
        zendesk_ticket(scoped_key(ZENDESK, "support-csat", "ticket:123"), "support-csat") == "123"
    )
    # The same words from an API key or a webhook source called "zendesk" are theirs alone.
    for caller in (api_caller(1), webhook_caller("zendesk")):
        assert (
            zendesk_ticket(scoped_key(caller, "support-csat", "ticket:123"), "support-csat") is None
        )
    assert zendesk_ticket(scoped_key(ZENDESK, "other", "ticket:123"), "support-csat") is None
    assert zendesk_ticket(None, "support-csat") is None


def test_a_bad_zendesk_ticket_id_is_refused_by_its_field() -> None:
    check_ticket_property({"zendesk_ticket_id": 5, "agent": "Ana"})
    check_ticket_property({"zendesk_ticket_id": None})
    check_ticket_property(None)
    with pytest.raises(Unprocessable) as caught:
        check_ticket_property({"zendesk_ticket_id": "T-1"})
    assert caught.value.field == "properties.zendesk_ticket_id"
