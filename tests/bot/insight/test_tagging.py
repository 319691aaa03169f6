"""The tagging job gives stored comments their themes and flags, once, and again when they change;
the themes report counts them per band, with their pull on the score and their change."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select, update

from bot.insight.filters import Filters
from bot.insight.tagging import Tagger
from bot.insight.theme_counts import theme_report
from bot.runtime.services import Services
from storage.models import CommentAnalysis, Response, ResponseTheme
from storage.uow import UnitOfWork
from tests.support import add_survey, at, store_responses

THEMES = {
    "speed": {"en": ["slow", "wait"], "fi": ["hidas", "odottaa"], "zh": ["慢", "等"]},
    "rudeness": ["rude", "impolite"],
}
# (answered_at, channel, plan, agent, score, reason, comment)
SEPTEMBER = [
    (at(2026, 9, 5), "sms", "pro", "Ana", 2, None, "Slow reply and a rude agent"),
    (at(2026, 9, 6), "sms", "pro", "Ana", 5, None, "Great help, thanks"),
]
OCTOBER = [
    (at(2026, 10, 2), "sms", "pro", "Ana", 1, None, "I waited for days, so slow"),
    (at(2026, 10, 3), "email", "free", "Ben", 2, None, "The agent was rude"),
    (at(2026, 10, 4), "email", "free", "Ben", 5, None, "Slow and rude"),  # words disagree
    (at(2026, 10, 5), "web", "free", "Ben", 3, None, "Odotin kauan, todella hidasta"),
    (at(2026, 10, 6), "web", "free", "Ben", 2, None, "等了很久，太慢了"),
    (at(2026, 10, 7), "web", "free", "Ben", 4, None, None),
]


def tagger(services: Services) -> Tagger:
    return Tagger(sessions=services.sessions, clock=services.clock, holder="tests")


async def themes_of(services: Services) -> dict[str, tuple[str, ...]]:
    async with UnitOfWork(services.read_sessions) as uow:
        rows = (
            await uow.session.execute(
                select(Response.comment, ResponseTheme.theme).join(
                    ResponseTheme, ResponseTheme.response_id == Response.id
                )
            )
        ).all()
    found: dict[str, list[str]] = {}
    for comment, theme in rows:
        found.setdefault(comment, []).append(theme)
    return {comment: tuple(sorted(names)) for comment, names in found.items()}


async def test_comments_get_their_themes_once(services: Services) -> None:
    await add_survey(services, themes=THEMES)
    await store_responses(services, "support-csat", SEPTEMBER + OCTOBER)
    job = tagger(services)
    assert await job.tick() == 7  # every comment, once
    assert await job.tick() == 0  # nothing left: a second pass does no work
    assert await themes_of(services) == {
        "Slow reply and a rude agent": ("rudeness", "speed"),
        "I waited for days, so slow": ("speed",),
        "The agent was rude": ("rudeness",),
        "Slow and rude": ("rudeness", "speed"),
        "Odotin kauan, todella hidasta": ("speed",),  # Finnish forms of odottaa and hidas
        "等了很久，太慢了": ("speed",),  # Chinese without spaces
    }
    async with UnitOfWork(services.read_sessions) as uow:
        flagged = (
            (
                await uow.session.execute(
                    select(Response.comment)
                    .join(CommentAnalysis, CommentAnalysis.response_id == Response.id)
                    .where(CommentAnalysis.disagrees.is_(True))
                )
            )
            .scalars()
            .all()
        )
    assert flagged == ["Slow and rude"]  # a 5 with complaining words


async def test_a_changed_comment_or_theme_book_is_tagged_again(services: Services) -> None:
    await add_survey(services, themes=THEMES)
    await store_responses(services, "support-csat", OCTOBER[:1])
    job = tagger(services)
    assert await job.tick() == 1
    async with UnitOfWork(services.sessions) as uow:
        await uow.session.execute(update(Response).values(comment="The agent was impolite"))
        await uow.commit()
    assert await job.tick() == 1  # the comment's length changed
    assert await themes_of(services) == {"The agent was impolite": ("rudeness",)}
    await add_survey(services, themes={"manners": ["impolite"]})
    assert await job.tick() == 1  # a new book version: everything again
    assert await themes_of(services) == {"The agent was impolite": ("manners",)}
    async with UnitOfWork(services.read_sessions) as uow:
        count = (
            await uow.session.execute(select(func.count()).select_from(ResponseTheme))
        ).scalar()
    assert count == 1  # the old theme's row is gone


async def report(services: Services, **options: Any) -> dict[str, Any]:
    async with UnitOfWork(services.read_sessions) as uow:
        row = await uow.surveys.get_by_key("support-csat")
        assert row is not None
        return await theme_report(uow, row, options.pop("filters", Filters()), **options)


async def test_theme_counts_per_band_pull_and_change(services: Services) -> None:
    await add_survey(services, themes=THEMES)
    await store_responses(services, "support-csat", SEPTEMBER + OCTOBER)
    await tagger(services).tick()
    october = Filters(since=at(2026, 10, 1), until=at(2026, 11, 1))
    result = await report(services, filters=october, against=(at(2026, 9, 1), at(2026, 10, 1)))
    speed = next(t for t in result["themes"] if t["theme"] == "speed")
    assert speed["responses"] == 4
    assert speed["by_band"] == {"negative": 2, "neutral": 1, "positive": 1}
    assert speed["share"] == 4 / 5  # five October comments
    # October's CSAT is 2 positive of 6 (33.3 %); without speed's four answers it is 1 of 2.
    assert speed["impact"] == 100 * 2 / 6 - 100 * 1 / 2
    assert speed["previous"] == {"responses": 1, "share": 0.5}
    assert speed["change"]["test"] == "two-proportion z-test"
    assert speed["change"]["difference"] == 100 * (4 / 5 - 1 / 2)
    assert (result["comments"], result["analysed"], result["with_a_theme"]) == (5, 5, 5)
    assert result["disagreements"] == 1
    assert result["named_themes"] == ["speed", "rudeness"]
    assert "proposed" not in result  # named themes: proposals only on request
    detractors = await report(services, filters=Filters(band="negative"))
    # Scores 1 and 2 over both months (the Finnish 3 is neutral).
    assert {t["theme"]: t["responses"] for t in detractors["themes"]} == {
        "speed": 3,
        "rudeness": 2,
    }


async def test_a_survey_without_themes_gets_proposals(api: httpx.AsyncClient) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services)
    texts = [
        "The delivery was late again",
        "Late delivery, the parcel came a week late",
        "Delivery took far too long, late parcel",
        "My parcel delivery was late",
        "The price is too high",
        "Too expensive, the price went up",
        "High price for what you get",
        "The price is expensive compared to others",
    ]
    rows = [
        (at(2026, 10, 1 + i % 28), "web", "p", "a", 1 + i % 5, None, texts[i % 8])
        for i in range(40)
    ]
    await store_responses(services, "support-csat", rows)
    reply = await api.get("/api/v1/surveys/support-csat/themes")
    assert reply.status_code == 200, reply.text
    proposed = reply.json()["proposed"]
    assert proposed["from_comments"] == 40 and proposed["among"] == "all comments"
    labels = " ".join(p["label"] for p in proposed["themes"])
    assert "price" in labels and ("late" in labels or "delivery" in labels)
    assert sum(p["responses"] for p in proposed["themes"]) <= 40
    few = await api.get(
        "/api/v1/surveys/support-csat/themes", params={"from": "2026-10-01", "to": "2026-10-05"}
    )
    assert few.json()["proposed"]["themes"] == []  # too few comments to cluster
    refused = await api.get("/api/v1/surveys/support-csat/themes", params={"band": "promoter"})
    assert refused.status_code == 422 and refused.json()["field"] == "band"
