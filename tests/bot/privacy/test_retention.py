"""Retention: transcripts and comments older than the period are purged in batches, scores stay;
one process at a time purges, at start and then hourly, when SURVEYBOT_RETENTION_DAYS is set."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.insight.tagging import analyse
from bot.insight.themes import ThemeBook
from bot.privacy.retention import RetentionJob
from bot.runtime.services import Services
from bot.startup.background import start_background
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from tests.bot.privacy.privacy_env import (
    NEW_COMMENT,
    OLD_COMMENT,
    conversation,
    seed_ages,
    state,
)
from tests.conftest import FakeClock, services_with
from tests.support import add_survey, store_responses


def job(
    services: Services, holder: str = "a", *, poll_seconds: float = 60, batch: int = 1000
) -> RetentionJob:
    return RetentionJob(
        sessions=services.sessions,
        clock=services.clock,
        holder=holder,
        days=30,
        poll_seconds=poll_seconds,
        batch=batch,
    )


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the background purge did not happen in time")


async def test_a_purge_removes_old_transcripts_and_comments_and_keeps_scores(
    services: Services, clock: FakeClock
) -> None:
    await seed_ages(services, clock)
    before = await state(services)
    assert before["comments"] == sorted([NEW_COMMENT] + [OLD_COMMENT] * 3)
    purged = await job(services, batch=2).tick()  # batches of two: the loop goes round
    assert (purged.messages, purged.comments) == (
        3 * 5,
        3,
    )  # question, 2, follow-up, comment, thanks
    assert (purged.comment_analyses, purged.response_themes) == (3, 3)
    after = await state(services)
    assert after == {
        "messages": before["messages"] - 15,
        "responses": 4,
        "comments": [NEW_COMMENT],
        "analyses": 1,
        "themes": 1,
    }
    assert (await job(services).tick()).anything is False  # nothing left to purge


async def test_one_process_purges_at_a_time_at_start_and_then_hourly(
    services: Services, clock: FakeClock
) -> None:
    await seed_ages(services, clock)
    first, second = job(services, "a", poll_seconds=0.01), job(services, "b", poll_seconds=0.01)
    tasks = [asyncio.create_task(first.run())]
    try:
        await eventually(lambda: _comments_left(services, 1))  # at start
        weeks_ago = clock.now - timedelta(days=40)  # another old comment, imported
        await store_responses(services, "support-csat", [(weeks_ago, "web", "", "", 2, None, "x")])
        tasks.append(asyncio.create_task(second.run()))
        await asyncio.sleep(0.3)
        # Within the hour the holder waits, and the other process cannot take the lease.
        assert await _comments_left(services, 2)
        clock.advance(minutes=61)
        await eventually(lambda: _comments_left(services, 1))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _comments_left(services: Services, count: int) -> bool:
    return len((await state(services))["comments"]) == count


async def test_the_service_purges_in_the_background_only_with_the_setting(
    database_url: str, clock: FakeClock
) -> None:
    kept = await services_with(database_url, clock)
    try:
        await seed_ages(kept, clock)
        await start_background(kept, channel_tasks=False)
        assert "retention" not in {task.get_name() for task in kept.tasks}
    finally:
        await kept.close()
    purging = await services_with(database_url, clock, retention_days=30)
    try:
        await start_background(purging, channel_tasks=False)
        assert "retention" in {task.get_name() for task in purging.tasks}
        await eventually(lambda: _comments_left(purging, 1))
    finally:
        await purging.close()


async def test_a_comment_purged_while_it_is_analysed_gets_no_themes(
    services: Services, clock: FakeClock
) -> None:
    await add_survey(services, throttle_days=0, themes={"speed": ["slow"]})
    await conversation(services, "old", OLD_COMMENT)
    clock.advance(days=40)
    async with UnitOfWork(services.sessions) as uow:
        row = await uow.surveys.get_by_key("support-csat")
        assert row is not None and row.id is not None
        survey = to_domain(row)
        book = ThemeBook.from_survey(survey)
        pending = await uow.themes.pending(row.id, book.version)
    results = analyse(survey, book, pending)  # the tagger is reading the comment …
    assert (await job(services).tick()).comments == 1  # … when retention purges it
    async with UnitOfWork(services.sessions) as uow:
        await uow.themes.save(row.id, book.version, results, clock())
        await uow.commit()
    after = await state(services)
    assert (after["comments"], after["analyses"], after["themes"]) == ([], 0, 0)
