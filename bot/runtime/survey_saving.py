"""Saving a survey definition: the checks every path (API, `surveys load`, the surveys file) shares."""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import Conflict, Unprocessable
from bot.invitations.decisions import listed, order_problem
from channels.base import ChannelInfo
from storage.models import SurveyRow
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork
from surveys.definitions import Survey, scale_change


async def save_survey(
    uow: UnitOfWork, survey: Survey, *, channels: Sequence[ChannelInfo] | None = None
) -> tuple[SurveyRow, bool]:
    """Create or replace a survey by key (the caller commits); the row and whether it is new.

    `channels` are the channels surveybot has (configured or not): `quiet_hours` and the
    fallback order `channels` may name only those. Refuses (Conflict, naming `scale` or `metric`) a change of scale once the
    survey has answers: they were given on the old scale, and a new one needs a new survey.
    """
    if channels is not None:
        check_channels(survey, channels)
    row = await uow.surveys.get_by_key(survey.key)
    if row is not None:
        old = to_domain(row)
        blamed = scale_change(old, survey)
        if blamed is not None:
            _, answers = await uow.surveys.counts(row.id or 0)
            if answers:
                raise Conflict(_scale_refusal(old, survey, blamed, answers), field=blamed)
    return await uow.surveys.upsert(survey)


def check_channels(survey: Survey, channels: Sequence[ChannelInfo]) -> None:
    """Refuse `quiet_hours` for a channel surveybot does not have, and a fallback order naming
    one or putting the web chat before another channel (Unprocessable naming the field)."""
    names = [info.name for info in channels]
    for name in survey.quiet_hours or {}:
        if name not in names:
            raise Unprocessable(
                f"quiet_hours: {name!r} is not a channel; use {listed(names)}",
                field=f"quiet_hours.{name}",
            )
    if survey.channels is not None:
        problem = order_problem(survey.channels, channels)
        if problem is not None:
            raise Unprocessable(f"channels: {problem}", field="channels")


def _scale_refusal(old: Survey, new: Survey, blamed: str, answers: int) -> str:
    before = "{}-{}".format(*old.scale_range)
    after = "{}-{}".format(*new.scale_range)
    given = "1 answer was" if answers == 1 else f"{answers} answers were"
    change = (
        f"changing its metric from {old.metric.value} to {new.metric.value} moves the scale"
        if blamed == "metric"
        else "the scale cannot change"
    )
    return (
        f"{given} given on the scale {before}, so {change} to {after}: its reports would"
        f" break. Keep the scale, or start a new survey under a new key (for example"
        f" {old.key + '-v2'!r}) with the new scale; the old one keeps its answers"
    )
