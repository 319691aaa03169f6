"""Responses as a reader lists them: filtered, newest first, each with its band and themes."""

from __future__ import annotations

from typing import Any

from bot.insight.filters import Filters
from bot.insight.scores import selection
from storage.models import SurveyRow
from storage.repositories.answers import AnswerRow
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey


def answer_dict(survey: Survey, row: AnswerRow) -> dict[str, Any]:
    """One response as the API shows it."""
    return {
        "id": row.id,
        "invitation_id": row.invitation_id,
        "survey": survey.key,
        "contact": row.contact,
        "channel": row.channel,
        "score": row.score,
        "band": survey.band(row.score),
        "reason": row.reason,
        "comment": row.comment,
        "themes": list(row.themes),
        "disagrees": row.disagrees,
        "answered_at": row.answered_at,
        "properties": row.properties,
    }


async def list_responses(
    uow: UnitOfWork, row: SurveyRow, filters: Filters, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the survey's responses that match the filters, and how many match in all."""
    survey = to_domain(row)
    chosen = selection(row, filters, survey)
    page = await uow.answers.page(chosen, limit=limit, offset=offset)
    return [answer_dict(survey, item) for item in page], await uow.answers.count(chosen)
