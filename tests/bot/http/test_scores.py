"""GET /api/v1/surveys/{key}/scores: unknown group names and empty periods are 422s naming the field."""

from __future__ import annotations

import httpx

from bot.runtime.services import Services
from tests.support import add_survey, answer, deliver, fire

SCORES = "/api/v1/surveys/support-csat/scores"


async def test_unknown_group_and_backwards_period_are_refused(api: httpx.AsyncClient) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services)
    result = await fire(services, properties={"agent": "Ana"})
    await deliver(services)
    await answer(services, result.invitation.id, "5")
    tried = refused = 0
    for params, field, words in [
        ({"group_by": "agnet"}, "group_by", "or a property: agent"),
        ({"group_by": "x y"}, "group_by", "cannot group by 'x y'"),
        ({"from": "2026-02-01", "to": "2026-01-31"}, "from", "must be before to 2026-01-31"),
        ({"from": "2026-01-31T10:00:00Z", "to": "2026-01-31T09:00:00Z"}, "from", "before"),
        ({"to": "last week"}, "to", "is not a date"),
    ]:
        tried += 1
        reply = await api.get(SCORES, params=params)
        assert reply.status_code == 422, (params, reply.text)
        assert reply.json()["field"] == field and words in reply.json()["detail"], reply.json()
        refused += 1
    assert (tried, refused) == (5, 5)
    grouped = await api.get(SCORES, params={"group_by": "reason", "from": "2026-01-31"})
    assert grouped.status_code == 200
    one_day = await api.get(SCORES, params={"from": "2026-01-31", "to": "2026-01-31"})
    assert one_day.status_code == 200  # a day's bounds: from its start to its end
