"""Importing historical responses from CSV: validate every row first, then insert all or none."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.models import Response
from storage.uow import UnitOfWork
from surveys.definitions import Survey

REQUIRED = ("contact", "score")
KNOWN = ("contact", "score", "comment", "answered_at", "channel")
MAX_ERRORS_SHOWN = 20


class ImportFailed(Exception):
    """Raised when a file has bad rows; nothing was imported. `problems` names each row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(slots=True)
class ImportRow:
    line: int
    contact: str
    score: int
    comment: str | None
    answered_at: datetime
    channel: str
    properties: dict[str, Any] = field(default_factory=dict)
    dated: bool = True  # answered_at came from the file; else it is the time of the import

    def key(self, survey_key: str) -> str:
        """The digest of what the row says (never of when it was imported), to know it again."""
        when = self.answered_at.isoformat() if self.dated else ""
        return _digest(survey_key, self.contact, str(self.score), when, self.channel, self.comment)

    def legacy_key(self, survey_key: str) -> str | None:
        """The digest older versions stored (no comment; undated rows were never recognised)."""
        if not self.dated:
            return None
        when = self.answered_at.isoformat()
        return _digest(survey_key, self.contact, str(self.score), when, self.channel)


def _digest(*parts: str | None) -> str:
    # A comment of None and of "" are the same row; other parts are never None.
    raw = "\x1f".join(part or "" for part in parts)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    # A time without an offset is taken as UTC (documented in docs/scores.md).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_rows(path: Path, survey: Survey, *, now: datetime) -> Iterator[ImportRow | str]:
    """Yield a parsed row, or a sentence naming the row and its problem."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            yield f"header: missing column(s) {', '.join(missing)} (need contact and score)"
            return
        low, high = survey.scale_range
        for number, raw in enumerate(reader, start=2):
            record = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if None in raw:
                yield f"row {number}: more values than columns"
                continue
            contact = record.get("contact", "")
            if not contact:
                yield f"row {number}: contact is empty"
                continue
            score_text = record.get("score", "")
            if not score_text.lstrip("-").isdigit():
                yield f"row {number}: score {score_text!r} is not a whole number"
                continue
            score = int(score_text)
            if not low <= score <= high:
                yield f"row {number}: score {score} is outside the survey's scale {low}-{high}"
                continue
            answered_text = record.get("answered_at", "")
            try:
                answered_at = _parse_time(answered_text) if answered_text else now
            except ValueError:
                yield f"row {number}: answered_at {answered_text!r} is not an ISO 8601 date-time"
                continue
            channel = record.get("channel") or "import"
            if len(channel) > 16:
                yield f"row {number}: channel {channel!r} is longer than 16 characters"
                continue
            extra = {k: v for k, v in record.items() if k not in KNOWN and k and v != ""}
            yield ImportRow(
                line=number,
                contact=contact,
                score=score,
                comment=record.get("comment") or None,
                answered_at=answered_at,
                channel=channel,
                properties=extra,
                dated=bool(answered_text),
            )


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    already_present: int


async def import_rows(
    uow: UnitOfWork,
    survey_id: int,
    survey_key: str,
    rows: list[ImportRow],
    *,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportResult:
    """Insert validated rows in the caller's transaction; rows imported before are skipped."""
    keys = {row.key(survey_key): row for row in rows}
    legacy = {key: row.legacy_key(survey_key) for key, row in keys.items()}
    existing = await uow.responses.imported_keys(
        [*keys, *(old for old in legacy.values() if old is not None)]
    )
    contact_ids: dict[str, int] = {}
    batch: list[Response] = []
    imported = present = 0
    for key, row in keys.items():
        if key in existing or legacy[key] in existing:
            present += 1
            progress(1)
            continue
        if row.contact not in contact_ids:
            contact = await uow.contacts.upsert(row.contact, {})
            contact_ids[row.contact] = contact.id or 0
        batch.append(
            Response(
                survey_id=survey_id,
                contact_id=contact_ids[row.contact],
                channel=row.channel,
                score=row.score,
                comment=row.comment,
                answered_at=row.answered_at,
                properties=row.properties,
                source="import",
                import_key=key,
            )
        )
        if len(batch) >= 500:
            await uow.responses.add_many(batch)
            imported += len(batch)
            progress(len(batch))
            batch = []
    if batch:
        await uow.responses.add_many(batch)
        imported += len(batch)
        progress(len(batch))
    duplicates_in_file = len(rows) - len(keys)
    return ImportResult(imported=imported, already_present=present + duplicates_in_file)
