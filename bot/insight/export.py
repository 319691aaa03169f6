"""The CSV export: one row per response with its band, themes, context and every property.

Rows are produced in batches (keyset paging), so memory stays flat however many responses
there are. A cell a spreadsheet would run as a formula is made text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insight.filters import Filters
from bot.insight.scores import selection
from storage.models import SurveyRow
from storage.repositories.answers import AnswerRow
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey

COLUMNS = (
    "response_id",
    "answered_at",
    "survey",
    "contact",
    "channel",
    "score",
    "band",
    "reason",
    "comment",
    "themes",
    "disagrees",
    "invitation_id",
)
MAX_PROPERTIES = 500  # property columns at most (the rest stay in the API)
BATCH = 2000
# What a spreadsheet takes for the start of a formula (OWASP's list: = + - @ tab CR).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> str:
    """A cell as text that no spreadsheet runs: a leading formula character gets a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def property_columns(names: list[str]) -> list[tuple[str, str]]:
    """(header, property name) per property; a name that is also a fixed column is prefixed."""
    return [(f"property.{n}" if n in COLUMNS else n, n) for n in names]


def cells(survey: Survey, row: AnswerRow, properties: list[tuple[str, str]]) -> list[str]:
    fixed = [
        row.id,
        row.answered_at.isoformat(),
        survey.key,
        row.contact,
        row.channel,
        row.score,
        survey.band(row.score),
        row.reason,
        row.comment,
        ";".join(row.themes),
        row.disagrees,
        row.invitation_id,
    ]
    return [safe(v) for v in fixed] + [safe(row.properties.get(name)) for _, name in properties]


async def header(uow: UnitOfWork, row: SurveyRow) -> list[tuple[str, str]]:
    names = await uow.reports.property_names(row.id or 0, limit=MAX_PROPERTIES)
    return property_columns(names)


async def csv_chunks(
    sessions: async_sessionmaker[AsyncSession],
    row: SurveyRow,
    filters: Filters,
    *,
    progress: Callable[[int], None] | None = None,
) -> AsyncIterator[str]:
    """The export as text chunks (a header, then one chunk per batch of rows)."""
    survey = to_domain(row)
    chosen = selection(row, filters, survey)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    async with UnitOfWork(sessions) as uow:
        properties = await header(uow, row)
        writer.writerow([*COLUMNS, *(name for name, _ in properties)])
        yield _take(buffer)
        async for batch in uow.answers.batches(chosen, size=BATCH):
            writer.writerows(cells(survey, item, properties) for item in batch)
            if progress is not None:
                progress(len(batch))
            yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
