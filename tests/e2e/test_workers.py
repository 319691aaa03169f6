"""Two `surveybot worker` processes share a PostgreSQL outbox; one is killed mid-run.

Nothing may be sent twice and nothing may be lost: every invitation ends up sent exactly once
(as the Twilio stand-in counts), or — only for the few sends the killed worker had in flight —
`interrupted`, never repeated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from storage.database import create_engine
from storage.migrate import upgrade
from storage.models import Contact, Invitation, SurveyRow
from surveys.definitions import Survey
from tests.conftest import create_pg_database, drop_pg_database
from tests.e2e.conftest import start_worker, wait_until
from tests.standins.twilio_api import TwilioStandIn

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "workers-twilio-auth-token"
SENDER = "+15005550006"
INVITATIONS = 3000
CONCURRENCY = 10

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def seed(url: str, count: int) -> None:
    """A survey, `count` contacts and one due SMS invitation each, written in bulk."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        survey = Survey.model_validate(
            {"key": "rel-nps", "metric": "nps", "quiet_hours": {}, "reminders": 0}
        )
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            survey_id = (
                await conn.execute(
                    insert(SurveyRow)
                    .values(
                        key=survey.key,
                        metric="nps",
                        definition=survey.model_dump(mode="json"),
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(SurveyRow.id)
                )
            ).scalar_one()
            contacts = [
                {
                    "external_id": f"c{n}",
                    "phone": f"+1415{n:07d}",
                    "locale": "en",
                    "properties": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(count)
            ]
            ids = (await conn.execute(insert(Contact).returning(Contact.id), contacts)).scalars()
            await conn.execute(
                insert(Invitation),
                [
                    {
                        "id": uuid.uuid4().hex,
                        "survey_id": survey_id,
                        "contact_id": contact_id,
                        "channel": "sms",
                        "status": "scheduled",
                        "step": "awaiting_score",
                        "send_at": now - timedelta(seconds=1),
                        "locale": "en",
                        "properties": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for contact_id in ids
                ],
            )
    finally:
        await engine.dispose()


async def statuses(url: str) -> dict[tuple[str, str | None], int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Invitation.status, Invitation.skip_reason, func.count()).group_by(
                    Invitation.status, Invitation.skip_reason
                )
            )
            return {(status, reason): count for status, reason, count in rows.all()}
    finally:
        await engine.dispose()


async def phones_by_status(url: str, status: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Contact.phone)
                .join(Invitation, Invitation.contact_id == Contact.id)
                .where(Invitation.status == status)
            )
            return [phone for (phone,) in rows.all() if phone]
    finally:
        await engine.dispose()


async def test_two_workers_one_killed_nothing_twice_nothing_lost(tmp_path: Path) -> None:
    name, url = await create_pg_database()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        await seed(url, INVITATIONS)
        async with TwilioStandIn(account_sid=ACCOUNT, auth_token=TOKEN) as twilio:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYBOT_")}
            env.update(
                {
                    "SURVEYBOT_DATABASE_URL": url,
                    "SURVEYBOT_TWILIO_ACCOUNT_SID": ACCOUNT,
                    "SURVEYBOT_TWILIO_AUTH_TOKEN": TOKEN,
                    "SURVEYBOT_TWILIO_FROM_NUMBER": SENDER,
                    "SURVEYBOT_TWILIO_API_BASE": twilio.url,
                    "SURVEYBOT_PUBLIC_URL": "https://surveys.example.com",
                    "SURVEYBOT_SMS_RATE_PER_SECOND": "0",
                    "SURVEYBOT_LEASE_SECONDS": "5",
                    "SURVEYBOT_DISPATCH_BATCH_SIZE": "50",
                    "SURVEYBOT_DISPATCH_CONCURRENCY": str(CONCURRENCY),
                    "SURVEYBOT_LOG_LEVEL": "INFO",
                }
            )
            logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
            workers = [start_worker(env, log) for log in logs]

            async def a_third_sent() -> bool:
                return len(twilio.sent) >= INVITATIONS // 3

            await wait_until(a_third_sent, 60, "a third of the messages")
            workers[0].send_signal(signal.SIGKILL)  # no chance to finish or clean up
            assert workers[0].wait(timeout=10) == -signal.SIGKILL

            async def all_settled() -> bool:
                counts = await statuses(url)
                return not any(status in ("scheduled", "sending") for status, _ in counts)

            await wait_until(all_settled, 120, "every invitation to be settled")
            workers[1].send_signal(signal.SIGTERM)
            assert workers[1].wait(timeout=30) == 0  # a graceful stop

            received = Counter(attempt.to for attempt in twilio.sent)
        counts = await statuses(url)
        sent_phones = await phones_by_status(url, "sent")
        interrupted = counts.get(("failed", "interrupted"), 0)

        print(  # the figures for the record (pytest -s)
            f"workers: {len(received)} received, {interrupted} interrupted, "
            f"{counts.get(('sent', None), 0)} recorded as sent"
        )
        duplicates = {phone: n for phone, n in received.items() if n > 1}
        assert not duplicates, f"sent twice: {duplicates}"
        assert set(counts) <= {("sent", None), ("failed", "interrupted")}, counts
        assert counts.get(("sent", None), 0) + interrupted == INVITATIONS
        assert all(received[phone] == 1 for phone in sent_phones)
        # Only what the killed worker had handed to the provider is left unsure.
        assert interrupted <= CONCURRENCY
        assert len(received) >= INVITATIONS - interrupted
        for log in logs:  # both workers did part of the work
            assert "sent on sms" in log.read_text(encoding="utf-8", errors="replace")
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        await drop_pg_database(name)
