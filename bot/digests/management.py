"""Digests as operators manage them: checked, added, listed and removed (API and CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.digests.schedule import EVERY, latest_due, parse_at
from bot.errors import NotFound, Unprocessable
from bot.events.alert_rules import MAX_ID, check_addresses
from storage.alerting import Digest
from storage.models import SurveyRow
from storage.repositories.alerting import DigestRepository
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import iana_zone

MAX_DIGESTS = 200
DEFAULT_AT = "08:00"


@dataclass(frozen=True, slots=True)
class NewDigest:
    """A digest as a caller asks for it; no time zone means the survey's own."""

    survey: str
    every: str
    to: Sequence[str]
    at: str = DEFAULT_AT
    timezone: str | None = None


async def add(uow: UnitOfWork, request: NewDigest, now: datetime, *, mail_on: bool) -> Digest:
    """A new digest; Unprocessable naming the field that is wrong."""
    row = await uow.surveys.get_by_key(request.survey)
    if row is None or row.id is None:
        raise Unprocessable(f"survey {request.survey!r} does not exist", field="survey")
    if request.every not in EVERY:
        raise Unprocessable(f"every must be {' or '.join(EVERY)}", field="every")
    to = check_addresses(list(request.to), field="to")
    if not to:
        raise Unprocessable("give at least one address to send the digest to", field="to")
    at = parse_at(request.at)
    if at is None:
        raise Unprocessable(
            f"{request.at!r} is not a time of day: write HH:MM, e.g. 08:00", field="at"
        )
    zone = request.timezone.strip() if request.timezone else to_domain(row).timezone
    try:
        iana_zone(zone)
    except ValueError as exc:
        raise Unprocessable(
            f"timezone {zone!r} is not an IANA time zone, e.g. Europe/Helsinki",
            field="timezone",
        ) from exc
    if not mail_on:
        raise Unprocessable(
            "digests are mailed: set SURVEYBOT_SMTP_HOST and SURVEYBOT_SMTP_FROM first",
            field="to",
        )
    digests = DigestRepository(uow.session)
    if len(await digests.all()) >= MAX_DIGESTS:
        raise Unprocessable(f"at most {MAX_DIGESTS} digests", field="survey")
    digest = Digest(
        survey_id=row.id,
        every=request.every,
        recipients=to,
        send_at=f"{at:%H:%M}",
        timezone=zone,
        created_at=now,
    )
    return await digests.add(digest)


async def get(uow: UnitOfWork, digest_id: int) -> tuple[Digest, SurveyRow]:
    found = await DigestRepository(uow.session).get(digest_id) if 1 <= digest_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"digest {digest_id} does not exist", field="digest_id")
    return found


def digest_dict(digest: Digest, survey: SurveyRow, now: datetime) -> dict[str, Any]:
    """A digest as the API and the CLI show it, with the period it sends next."""
    zone = ZoneInfo(digest.timezone)
    at = parse_at(digest.send_at)
    assert at is not None  # checked when added
    due = latest_due(digest.every, at, zone, now)
    following = due.end + (due.end - due.start)
    next_at = datetime.combine(following, at, tzinfo=zone)
    return {
        "id": digest.id,
        "survey": survey.key,
        "every": digest.every,
        "to": digest.recipients,
        "at": digest.send_at,
        "timezone": digest.timezone,
        "next_send_at": next_at.isoformat(),
        "created_at": digest.created_at,
    }


async def listed(uow: UnitOfWork, now: datetime) -> list[dict[str, Any]]:
    return [digest_dict(d, s, now) for d, s in await DigestRepository(uow.session).all()]


async def remove(uow: UnitOfWork, digest_id: int, now: datetime) -> None:
    await get(uow, digest_id)
    await DigestRepository(uow.session).remove(digest_id, now)
